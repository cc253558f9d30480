using X402Orleans.Abstractions;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.Console.Tests;

public sealed class ChartSeriesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 10, 0, 5, TimeSpan.Zero);

    private static CallStatsBucket Bucket(DateTimeOffset start, long calls, int latencyIndex) =>
        new(start, calls, 0, [.. Enumerable.Range(0, CallLatency.UpperBoundsMs.Count + 1).Select(i => i == latencyIndex ? calls : 0L)]);

    [Fact]
    public void Series_CoversTheWholeWindowWithZeros_WhenOnlyOneBucketWasReported()
    {
        var reported = CallLatency.BucketStart(Now) - TimeSpan.FromSeconds(30);

        var series = FleetView.Series([Bucket(reported, 12, 3)], Now);

        Assert.Equal(89, series.Count);
        Assert.Equal(CallLatency.BucketStart(Now) - CallLatency.BucketWidth, series[^1].Start);
        Assert.All(series.Zip(series.Skip(1)), pair => Assert.Equal(CallLatency.BucketWidth, pair.Second.Start - pair.First.Start));
        Assert.Equal(12, series.Single(p => p.Start == reported).Calls);
        Assert.Equal(0, series.Where(p => p.Start != reported).Sum(p => p.Calls));
    }

    [Fact]
    public void Series_SumsReporters_WhenSeveralGatewaysReportTheSameBucket()
    {
        var start = CallLatency.BucketStart(Now) - TimeSpan.FromSeconds(60);

        var point = FleetView.Series([Bucket(start, 10, 2), Bucket(start, 30, 5)], Now).Single(p => p.Start == start);

        Assert.Equal(40, point.Calls);
        Assert.Equal(CallLatency.UpperBoundsMs[5], point.P50Ms);
    }

    [Fact]
    public void Series_LeavesOutTheCurrentBucket_WhileItIsStillFilling()
    {
        var series = FleetView.Series([Bucket(CallLatency.BucketStart(Now), 5, 1)], Now);

        Assert.Equal(0, series.Sum(p => p.Calls));
    }
}
