namespace X402Orleans.Abstractions;

/// <summary>
/// The cluster's list of sessions whose channel refunds are due and that no agent's <c>x402_session_end</c> is asking for: sessions
/// that expired or that an operator ended while they were their channel's last live session (key 0). Each silo's
/// refund service takes due entries, runs the cooperative refund outside any grain turn (a fresh 402, the session grain signs the
/// refund voucher, the service sends it) and resolves the entry: done, or retried later with backoff.
/// </summary>
[Alias("X402Orleans.Abstractions.IChannelRefundQueueGrain")]
public interface IChannelRefundQueueGrain : IGrainWithIntegerKey
{
    /// <summary>Records that <paramref name="sessionId"/> has channel refunds due (idempotent) and wakes this silo's refund service.</summary>
    [Alias("Add")]
    Task Add(Guid sessionId, string agentId);

    /// <summary>
    /// Up to <paramref name="max"/> entries whose next attempt is due, each then held for a lease (a taker that crashes leaves it to be
    /// taken again after the lease).
    /// </summary>
    [Alias("TakeDue")]
    Task<IReadOnlyList<DueChannelRefund>> TakeDue(int max);

    /// <summary>Records an attempt's outcome: <paramref name="done"/> removes the entry, else it is retried after a growing delay.</summary>
    [Alias("Resolve")]
    Task Resolve(Guid sessionId, bool done, string outcome);

    /// <summary>The entries still to do (for operators and tests).</summary>
    [Alias("List")]
    Task<IReadOnlyList<DueChannelRefund>> List();
}

/// <summary>A session with channel refunds due.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="AgentId">Its agent.</param>
/// <param name="Attempts">Attempts that left a refund due.</param>
/// <param name="NextAttemptAt">When it is next taken.</param>
/// <param name="LastOutcome">Why the last attempt did not finish, if one did not.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.DueChannelRefund")]
public sealed record DueChannelRefund(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] string AgentId,
    [property: Id(2)] int Attempts,
    [property: Id(3)] DateTimeOffset NextAttemptAt,
    [property: Id(4)] string? LastOutcome);

/// <summary>One attempt of the silo's refund service at a due refund: the session, whether nothing is due on it any more, and what happened.</summary>
public sealed record ChannelRefundAttempt(Guid SessionId, bool Done, string Outcome);

/// <summary>
/// Wakes the silo's refund service when a refund becomes due on this silo (a silo-local singleton; other silos find the entry at
/// their next poll).
/// </summary>
public sealed class ChannelRefundSignal : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>Wakes the waiter (at most one wake is kept).</summary>
    public void Wake()
    {
        lock (_wake)
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
    }

    /// <summary>Raised after the refund service resolved a due entry (one attempt, done or to be retried) — for tests and diagnostics.</summary>
    public event EventHandler<ChannelRefundAttempt>? Attempted;

    /// <summary>Raises <see cref="Attempted"/>.</summary>
    public void OnAttempted(ChannelRefundAttempt attempt) => Attempted?.Invoke(this, attempt);

    /// <summary>Waits for a wake or <paramref name="timeout"/>.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _wake.Dispose();
}
