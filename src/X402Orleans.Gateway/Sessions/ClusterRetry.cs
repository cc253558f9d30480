using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// Retries a grain call while the cluster recovers from a lost silo. A call in flight when its silo dies gets no answer:
/// each attempt takes the <see cref="ClusterChangeSignal"/>'s token, so it stops waiting as soon as the gateway sees the silo
/// go (its connection closes, or the cluster declares it dead) and is resent at once, instead of after the response timeout.
/// Until the dead silo is declared dead, resent calls routed to it fail fast with <see cref="SiloUnavailableException"/> or a
/// rejection and are retried with a short backoff; afterwards the call succeeds on a new activation elsewhere. Retried: an
/// unreachable silo, a rejected message, a transient state-store error, a timeout and a cluster change. Only idempotent
/// calls go through here (beginning a call and recording its outcome, both carrying a call id the session remembers, and
/// reading a status), so an agent's call waits through a failover instead of failing, and a delivered upstream response is
/// counted exactly once.
/// </summary>
internal static class ClusterRetry
{
    /// <summary>How long a call keeps retrying before the failure is returned (a new attempt is started only within it).</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    /// <summary>
    /// While the cluster is <see cref="ClusterChangeSignal.Recovering"/>, how long an attempt waits for its answer before it is
    /// resent (doubling per unanswered attempt up to <see cref="LastAttemptBound"/>); outside that window an attempt waits the
    /// client's response timeout.
    /// </summary>
    public static readonly TimeSpan FirstAttemptBound = TimeSpan.FromSeconds(2);

    /// <summary>The longest bounded wait of one attempt while the cluster recovers.</summary>
    public static readonly TimeSpan LastAttemptBound = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Runs <paramref name="call"/> (given the attempt's cancellation token, to pass to the grain method), retrying on
    /// cluster failover errors for up to <see cref="Budget"/>; an attempt cancelled by <paramref name="signal"/> is resent
    /// at once, and so is one left unanswered past its bound while the cluster recovers. <paramref name="cancellationToken"/>
    /// stops the retries (not an attempt in flight).
    /// </summary>
    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, ClusterChangeSignal signal, CancellationToken cancellationToken)
    {
        var time = signal.Time;
        var started = time.GetTimestamp();
        var delay = FirstDelay;
        var bound = FirstAttemptBound;
        while (true)
        {
            var attempt = signal.Token;
            using var timer = signal.Recovering ? new CancellationTokenSource(bound, time) : null;
            using var bounded = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(attempt, timer.Token);
            try
            {
                return await call(bounded?.Token ?? attempt);
            }
            catch (OperationCanceledException) when ((attempt.IsCancellationRequested || timer?.IsCancellationRequested == true)
                && time.GetElapsedTime(started) < Budget && !cancellationToken.IsCancellationRequested)
            {
                // The cluster changed while this attempt waited, or it went unanswered past its bound while the cluster
                // recovers (lost with the dead silo): resend now. A resend routed to a silo not yet declared dead fails fast
                // and backs off below; an answer merely slow arrives for the resend too (same call id).
                if (!attempt.IsCancellationRequested)
                {
                    signal.ReportUnanswered(bound);
                    bound = TimeSpan.FromTicks(Math.Min(bound.Ticks * 2, LastAttemptBound.Ticks));
                }
            }
            catch (Exception ex) when (IsFailover(ex) && time.GetElapsedTime(started) + delay < Budget && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, MaxDelay.TotalMilliseconds));
            }
        }
    }

    /// <summary>Whether <paramref name="ex"/> says the cluster (or its state store) could not serve a call.</summary>
    public static bool IsClusterFailure(Exception ex) => IsFailover(ex) || ex is OrleansException or StorageUnavailableException or OperationCanceledException;

    private static bool IsFailover(Exception ex) => ex switch
    {
        SiloUnavailableException => true,
        TimeoutException => true,
        OrleansMessageRejectionException => true,
        StorageUnavailableException storage => storage.Transient,
        _ => ex.GetType().Name == "ConnectionFailedException",
    };
}
