using X402Orleans.Abstractions;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.Console.Tests;

public sealed class ChartSeriesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 10, 0, 5, TimeSpan.Zero);

    private static CallStatsBucket Bucket(DateTimeOffset start, long calls, int latencyIndex) =>
        new(start, calls, 0, [.. Enumerable.Range(0, CallLatency.UpperBoundsMs.Count + 1).Select(i => i == latencyIndex ? calls : 0L)]);

    [Fact]
    public void Series_ZeroFillsFromTheFirstReportedBucketOn_WhenLaterBucketsWereNotReported()
    {
        var reported = CallLatency.BucketStart(Now) - TimeSpan.FromSeconds(60);

        var series = FleetView.Series([Bucket(reported, 12, 3)], Now);

        Assert.Equal(reported, series[0].Start);
        Assert.Equal(CallLatency.BucketStart(Now) - CallLatency.BucketWidth, series[^1].Start);
        Assert.Equal(6, series.Count);
        Assert.All(series.Zip(series.Skip(1)), pair => Assert.Equal(CallLatency.BucketWidth, pair.Second.Start - pair.First.Start));
        Assert.Equal(12, series[0].Calls);
        Assert.All(series.Skip(1), p => Assert.Equal(0, p.Calls));
    }

    [Fact]
    public void Series_IsEmpty_WhenNothingWasReportedInTheWindow()
    {
        var tooOld = CallLatency.BucketStart(Now) - TimeSpan.FromMinutes(20);

        Assert.Empty(FleetView.Series([], Now));
        Assert.Empty(FleetView.Series([Bucket(tooOld, 7, 2)], Now));
    }

    [Fact]
    public void Points_ScaleToThePeakInsideTheWindowOnly_WhenAnOlderPointIsHigher()
    {
        var inside = CallLatency.BucketStart(Now) - TimeSpan.FromSeconds(30);
        SeriesPoint[] series = [new(inside, 50, 0, 4), new(inside - TimeSpan.FromMinutes(20), 5000, 0, 900)];

        var points = Chart.Points(series, Now, Chart.CallsPerSecond).Split(' ');

        Assert.Equal(5, Chart.Peak(series, Now, Chart.CallsPerSecond));
        Assert.Equal(Chart.Top.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(points).Split(',')[1]);
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
