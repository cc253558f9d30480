using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace X402Orleans.Silo;

/// <summary>
/// Lets Orleans' activation shedding act (<c>X402:Cluster:ActivationMemoryLimitMB</c>). Orleans sheds only after a gen-2
/// collection it has not acted on yet, and a server-GC heap that grows by promoting session activations into gen 2 can go
/// for minutes without one: a million sessions reached 1.4 GB committed, far above the limit, with no gen-2 collection and
/// so no shedding. Every <see cref="CheckPeriod"/> this looks at the GC's committed bytes less fragmentation (what Orleans
/// compares with its limit); when that is above the limit and no gen-2 collection has run for <see cref="QuietPeriod"/>,
/// it induces one, blocking and compacting (the fragmentation of gen 2 is freed too). At most one per quiet period, and
/// none while the process is under the limit. Each induced collection is logged with its pause (the whole process stops for
/// it) and the memory left after it.
/// </summary>
public sealed partial class ActivationMemoryCollector : BackgroundService
{
    /// <summary>How often the GC's numbers are looked at.</summary>
    public static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(2);

    /// <summary>How long without a gen-2 collection before one is induced (also the least time between two induced ones).</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(5);

    private readonly long _limitBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<long> _usedBytes;
    private readonly Func<int> _gen2Count;
    private readonly Func<TimeSpan> _collect;
    private int _lastGen2Count;
    private DateTimeOffset _lastGen2At;

    /// <summary>Watches this process's GC against <paramref name="limitBytes"/>.</summary>
    public ActivationMemoryCollector(long limitBytes, TimeProvider time, ILogger<ActivationMemoryCollector> logger)
        : this(limitBytes, time, logger, UsedBytes, () => GC.CollectionCount(2), Collect)
    {
    }

    /// <summary>Test seam: the GC's numbers and the collection (which returns its pause) are given.</summary>
    internal ActivationMemoryCollector(long limitBytes, TimeProvider time, ILogger logger, Func<long> usedBytes, Func<int> gen2Count, Func<TimeSpan> collect)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _limitBytes = limitBytes;
        _time = time;
        _logger = logger;
        _usedBytes = usedBytes;
        _gen2Count = gen2Count;
        _collect = collect;
        _lastGen2Count = gen2Count();
        _lastGen2At = time.GetUtcNow();
    }

    /// <summary>One look at the GC; the induced gen-2 collection's pause, or null when none was induced.</summary>
    internal TimeSpan? Check()
    {
        var now = _time.GetUtcNow();
        var gen2 = _gen2Count();
        if (gen2 != _lastGen2Count)
        {
            _lastGen2Count = gen2;
            _lastGen2At = now;
            return null;
        }

        if (now - _lastGen2At < QuietPeriod)
        {
            return null;
        }

        var used = _usedBytes();
        if (used <= _limitBytes)
        {
            return null;
        }

        Log.Inducing(_logger, used / (1024 * 1024), _limitBytes / (1024 * 1024), (now - _lastGen2At).TotalSeconds);
        var pause = _collect();
        Log.Induced(_logger, pause.TotalMilliseconds, _usedBytes() / (1024 * 1024));
        _lastGen2Count = _gen2Count();
        _lastGen2At = _time.GetUtcNow();
        return pause;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Check();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private static long UsedBytes()
    {
        var info = GC.GetGCMemoryInfo();
        return info.TotalCommittedBytes - info.FragmentedBytes;
    }

    private static TimeSpan Collect()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var pauses = GC.GetGCMemoryInfo(GCKind.FullBlocking).PauseDurations;
        return pauses.Length > 0 ? pauses[0] : TimeSpan.Zero;
    }

    private static partial class Log
    {
        [LoggerMessage(530, LogLevel.Information, "GC memory {UsedMb} MiB is above the activation memory limit of {LimitMb} MiB with no gen-2 collection for {Seconds:F0} s: inducing one so activations can be shed")]
        public static partial void Inducing(ILogger logger, long usedMb, long limitMb, double seconds);

        [LoggerMessage(531, LogLevel.Information, "The induced gen-2 collection paused the process {PauseMs:F0} ms; GC memory now {UsedMb} MiB")]
        public static partial void Induced(ILogger logger, double pauseMs, long usedMb);
    }
}
