using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using X402Orleans.Silo;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// Above the activation memory limit with no gen-2 collection for a while, the silo induces one so Orleans' shedding (which
/// acts only after a gen-2 collection) can deactivate sessions; never under the limit, never more than once per quiet period.
/// </summary>
public sealed class ActivationMemoryCollectorTests
{
    private const long Limit = 512L * 1024 * 1024;
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(42); // what the induced collection reports
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
    private long _used = Limit + 1;
    private int _gen2;
    private int _induced;

    [Fact]
    public void Check_InducesOneGen2Collection_WhenAboveTheLimitWithNoGen2ForTheQuietPeriod()
    {
        var collector = Create();

        _time.Advance(ActivationMemoryCollector.QuietPeriod - TimeSpan.FromSeconds(1));
        Assert.Null(collector.Check()); // not quiet long enough yet
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Pause, collector.Check());
        Assert.Equal((1, 1), (_induced, _gen2));

        _time.Advance(ActivationMemoryCollector.CheckPeriod);
        Assert.Null(collector.Check()); // still above the limit, but the induced one was just now
        _time.Advance(ActivationMemoryCollector.QuietPeriod);
        Assert.Equal(Pause, collector.Check());
        Assert.Equal(2, _induced);
    }

    [Fact]
    public void Check_InducesNothing_WhenUnderTheLimitOrAGen2CollectionRanRecently()
    {
        var collector = Create();
        _used = Limit;
        _time.Advance(ActivationMemoryCollector.QuietPeriod * 3);
        Assert.Null(collector.Check()); // at the limit: nothing to shed

        _used = Limit * 2;
        _gen2 = 7; // the GC collected gen 2 on its own: Orleans can shed after it
        Assert.Null(collector.Check());
        _time.Advance(ActivationMemoryCollector.QuietPeriod - TimeSpan.FromSeconds(1));
        Assert.Null(collector.Check());
        Assert.Equal(0, _induced);
    }

    private ActivationMemoryCollector Create() =>
        new(Limit, _time, NullLogger.Instance, () => _used, () => _gen2, () =>
        {
            _induced++;
            _gen2++;
            return Pause;
        });
}
