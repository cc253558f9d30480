using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>An agent's index of live sessions and idempotency keys.</summary>
public sealed class AgentGrain([PersistentState("agent", StorageNames.Sessions)] IPersistentState<AgentState> state) : Grain, IAgentGrain
{
    /// <summary>How many payment attempts the audit log keeps per agent.</summary>
    public const int MaxAuditEntries = 1000;

    /// <inheritdoc />
    public async Task RecordAttempt(PaymentAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        state.State.Attempts.Add(attempt);
        if (state.State.Attempts.Count > MaxAuditEntries)
        {
            state.State.Attempts.RemoveRange(0, state.State.Attempts.Count - MaxAuditEntries);
        }

        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PaymentAttempt>> ListAttempts(int limit) =>
        Task.FromResult<IReadOnlyList<PaymentAttempt>>([.. state.State.Attempts.AsEnumerable().Reverse().Take(Math.Clamp(limit, 1, MaxAuditEntries))]);

    /// <inheritdoc />
    public async Task Register(Guid sessionId)
    {
        if (state.State.Sessions.Add(sessionId))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public async Task Unregister(Guid sessionId)
    {
        if (state.State.Sessions.Remove(sessionId))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Guid>> ListSessions() => Task.FromResult<IReadOnlyList<Guid>>([.. state.State.Sessions]);

    /// <inheritdoc />
    public async Task<IdempotencyClaim> ClaimIdempotencyKey(string key, string fingerprint, Guid proposedSessionId)
    {
        if (state.State.IdempotencyKeys.TryGetValue(key, out var entry))
        {
            return new IdempotencyClaim(entry.SessionId, false, entry.Fingerprint == fingerprint);
        }

        state.State.IdempotencyKeys[key] = new IdempotencyEntry { SessionId = proposedSessionId, Fingerprint = fingerprint };
        await state.WriteStateAsync();
        return new IdempotencyClaim(proposedSessionId, true, true);
    }

    /// <inheritdoc />
    public async Task ReleaseIdempotencyKey(string key, Guid sessionId)
    {
        if (state.State.IdempotencyKeys.TryGetValue(key, out var entry) && entry.SessionId == sessionId)
        {
            state.State.IdempotencyKeys.Remove(key);
            await state.WriteStateAsync();
        }
    }
}
