using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// Retries a grain call while the cluster recovers from a lost silo: until the dead silo is declared dead, calls routed to
/// it fail with <see cref="SiloUnavailableException"/> or a rejection, and a call that was in flight when its silo died
/// times out (the client's response timeout); afterwards the call succeeds on a new activation elsewhere. Retried: an
/// unreachable silo, a rejected message, a transient state-store error, and a timeout. Only idempotent calls go through
/// here (beginning a call and recording its outcome, both carrying a call id the session remembers, and reading a
/// status), so an agent's call waits through a failover instead of failing, and a delivered upstream response is
/// counted exactly once.
/// </summary>
internal static class ClusterRetry
{
    /// <summary>How long a call keeps retrying before the failure is returned.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="call"/>, retrying on cluster failover errors for up to <see cref="Budget"/>.</summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var giveUpAt = DateTime.UtcNow + Budget;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (IsFailover(ex) && DateTime.UtcNow + delay < giveUpAt && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
            }
        }
    }

    /// <summary>Whether <paramref name="ex"/> says the cluster (or its state store) could not serve a call.</summary>
    public static bool IsClusterFailure(Exception ex) => IsFailover(ex) || ex is OrleansException or StorageUnavailableException;

    private static bool IsFailover(Exception ex) => ex switch
    {
        SiloUnavailableException => true,
        TimeoutException => true,
        OrleansMessageRejectionException => true,
        StorageUnavailableException storage => storage.Transient,
        _ => ex.GetType().Name == "ConnectionFailedException",
    };
}
