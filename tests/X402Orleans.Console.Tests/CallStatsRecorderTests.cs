using Microsoft.Extensions.Time.Testing;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Observability;

namespace X402Orleans.Console.Tests;

public sealed class CallStatsRecorderTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TakeFinished_ReturnsNothing_WhileTheBucketIsStillOpen()
    {
        var time = new FakeTimeProvider(Start);
        var recorder = new CallStatsRecorder(time);
        recorder.Record(TimeSpan.FromMilliseconds(3), failed: false);
        time.Advance(TimeSpan.FromSeconds(9));

        Assert.Empty(recorder.TakeFinished());
    }

    [Fact]
    public void TakeFinished_ReturnsCallsErrorsAndLatencies_ByTenSecondBucket()
    {
        var time = new FakeTimeProvider(Start.AddSeconds(2));
        var recorder = new CallStatsRecorder(time);
        recorder.Record(TimeSpan.FromMilliseconds(3), failed: false);
        recorder.Record(TimeSpan.FromMilliseconds(3), failed: false);
        recorder.Record(TimeSpan.FromMilliseconds(100), failed: true);
        time.Advance(TimeSpan.FromSeconds(10));
        recorder.Record(TimeSpan.FromMilliseconds(1), failed: false);
        time.Advance(TimeSpan.FromSeconds(10));

        var buckets = recorder.TakeFinished();

        Assert.Equal(2, buckets.Count);
        Assert.Equal(Start, buckets[0].Start);
        Assert.Equal(3, buckets[0].Calls);
        Assert.Equal(1, buckets[0].Errors);
        Assert.Equal(2, buckets[0].LatencyCounts[CallLatency.BucketIndex(3)]);
        Assert.Equal(1, buckets[0].LatencyCounts[CallLatency.BucketIndex(100)]);
        Assert.Equal(4, CallLatency.MedianUpperBoundMs(buckets[0].LatencyCounts));
        Assert.Equal(Start.AddSeconds(10), buckets[1].Start);
        Assert.Equal(1, buckets[1].Calls);
        Assert.Empty(recorder.TakeFinished());
    }

    [Fact]
    public void Return_KeepsBucketsForTheNextReport_WhenReportingFailed()
    {
        var time = new FakeTimeProvider(Start);
        var recorder = new CallStatsRecorder(time);
        recorder.Record(TimeSpan.FromMilliseconds(5), failed: false);
        time.Advance(TimeSpan.FromSeconds(10));
        var first = recorder.TakeFinished();
        recorder.Record(TimeSpan.FromMilliseconds(5), failed: false);
        time.Advance(TimeSpan.FromSeconds(10));

        recorder.Return(first);

        var again = recorder.TakeFinished();
        Assert.Equal([Start, Start.AddSeconds(10)], again.Select(b => b.Start));
        Assert.All(again, b => Assert.Equal(1, b.Calls));
    }
}
