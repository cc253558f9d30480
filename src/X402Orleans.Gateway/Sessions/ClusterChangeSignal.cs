using Microsoft.Extensions.Logging;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// Tells grain calls in flight that a silo may be gone, so they stop waiting for an answer that will not come. Each attempt
/// of an idempotent call (<see cref="ClusterRetry"/>) takes <see cref="Token"/> when it starts; <see cref="Raise"/> cancels
/// every attempt started before it, which <see cref="ClusterRetry"/> then resends at once (same call id, so nothing is counted
/// twice). Raised by the Orleans client when a gateway connection closes (a killed silo's socket closes at once; a silo
/// dropped from the cluster's list is disconnected at the next list refresh), and in a silo when the membership table
/// declares a silo dead. A spurious raise costs one resent idempotent call, never a lost or double count. For
/// <see cref="RecoveryWindow"/> after a raise the cluster is <see cref="Recovering"/>: a resent call may itself be lost with the
/// dead silo (e.g. forwarded to it by another silo before that silo saw it go), which no later raise reports in a gateway
/// process, so <see cref="ClusterRetry"/> bounds each attempt's wait then.
/// </summary>
public sealed partial class ClusterChangeSignal(ILogger<ClusterChangeSignal> logger, TimeProvider? timeProvider = null)
{
    /// <summary>How long after a raise attempts are bounded (a silo is declared dead and its grains re-placed well within it).</summary>
    public static readonly TimeSpan RecoveryWindow = TimeSpan.FromSeconds(30);

    private CancellationTokenSource _current = new();
    private long _raised;
    private long _lastRaisedAt;

    /// <summary>The clock the retries measure their waits and budget on.</summary>
    public TimeProvider Time { get; } = timeProvider ?? TimeProvider.System;

    /// <summary>Cancelled at the next <see cref="Raise"/>; attempts take it when they start.</summary>
    public CancellationToken Token => Volatile.Read(ref _current).Token;

    /// <summary>How many times the signal was raised (diagnostics and tests).</summary>
    public long Raised => Interlocked.Read(ref _raised);

    /// <summary>Whether the last raise is less than <see cref="RecoveryWindow"/> ago.</summary>
    public bool Recovering => Raised > 0 && Time.GetElapsedTime(Interlocked.Read(ref _lastRaisedAt)) < RecoveryWindow;

    /// <summary>Cancels every attempt in flight; later attempts get a fresh token.</summary>
    /// <param name="reason">What was observed (logged).</param>
    public void Raise(string reason)
    {
        // The old source is not disposed: a caller may still be reading its token, and without timers it holds nothing.
        Interlocked.Exchange(ref _lastRaisedAt, Time.GetTimestamp());
        var previous = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        Interlocked.Increment(ref _raised);
        Log.Raised(logger, reason);
        previous.Cancel();
    }

    /// <summary>Logs that an attempt went unanswered past <paramref name="bound"/> while the cluster recovers and is resent.</summary>
    public void ReportUnanswered(TimeSpan bound) => Log.Unanswered(logger, bound.TotalSeconds);

    private static partial class Log
    {
        [LoggerMessage(701, LogLevel.Information, "A grain call got no answer within {BoundSeconds} s while the cluster recovers: resent")]
        public static partial void Unanswered(ILogger logger, double boundSeconds);


        [LoggerMessage(700, LogLevel.Information, "Cluster change ({Reason}): grain calls in flight are resent")]
        public static partial void Raised(ILogger logger, string reason);
    }
}
