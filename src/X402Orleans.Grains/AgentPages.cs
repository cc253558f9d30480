using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Orleans.Concurrency;
using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>How many entries one page of an agent's index holds.</summary>
public static class PageSizes
{
    /// <summary>Payment attempts per audit page.</summary>
    public const int Audit = 100;

    /// <summary>Sessions added per session page.</summary>
    public const int Sessions = 100;

    /// <summary>The key of page <paramref name="page"/> of <paramref name="agentId"/> (the page number is always the last segment).</summary>
    public static string PageKey(string agentId, long page) => agentId + "/" + page.ToString(CultureInfo.InvariantCulture);
}

/// <summary>How an append to a page went.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Grains.PageAppend")]
public sealed record PageAppend(
    [property: Id(0)] int Accepted,
    [property: Id(1)] bool Full);

/// <summary>A live session in a session page, with its slot.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Grains.PageEntry")]
public sealed record PageEntry(
    [property: Id(0)] int Slot,
    [property: Id(1)] Guid SessionId);

/// <summary>One page of an agent's audit log (key: <see cref="PageSizes.PageKey"/>). Only the agent grain calls it.</summary>
[Alias("X402Orleans.Grains.IAuditPageGrain")]
public interface IAuditPageGrain : IGrainWithStringKey
{
    /// <summary>Appends attempts, oldest first, while the page has room; says how many were taken and whether the page is now full.</summary>
    [Alias("11949BBB")]
    Task<PageAppend> Append(IReadOnlyList<PaymentAttempt> attempts);

    /// <summary>The page's attempts, newest first.</summary>
    [Alias("6DB8855C")]
    Task<IReadOnlyList<PaymentAttempt>> ListNewestFirst();

    /// <summary>Deletes the page.</summary>
    [Alias("10C09E33")]
    Task Clear();
}

/// <summary>One page of an agent's live sessions (key: <see cref="PageSizes.PageKey"/>). Only the agent grain calls it.</summary>
[Alias("X402Orleans.Grains.ISessionPageGrain")]
public interface ISessionPageGrain : IGrainWithStringKey
{
    /// <summary>Adds sessions while the page has slots (a session already in the page counts as taken).</summary>
    [Alias("8072DA76")]
    Task<PageAppend> Add(IReadOnlyList<Guid> sessionIds);

    /// <summary>Removes a session; returns how many live sessions remain, or -1 when it was not in the page. A full page left empty deletes itself.</summary>
    [Alias("C5831AE3")]
    Task<int> Remove(Guid sessionId);

    /// <summary>At most <paramref name="max"/> live sessions from slot <paramref name="fromSlot"/> on, ascending.</summary>
    [Alias("D69C7B37")]
    Task<IReadOnlyList<PageEntry>> List(int fromSlot, int max);
}

/// <summary>
/// One idempotency key of one agent (key: <see cref="KeyFor"/>). Holds the session created under the key until that session
/// fails or is purged, so the key record lives exactly as long as its session.
/// </summary>
[Alias("X402Orleans.Grains.IIdempotencyGrain")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    /// <summary>Binds the key to <paramref name="proposedSessionId"/> unless it is bound already (same contract as <see cref="IAgentGrain.ClaimIdempotencyKey"/>).</summary>
    [Alias("C7EF5A29")]
    Task<IdempotencyClaim> Claim(string fingerprint, Guid proposedSessionId);

    /// <summary>Unbinds the key when it is bound to <paramref name="sessionId"/>.</summary>
    [Alias("A24E2EC9")]
    Task Release(Guid sessionId);
}

/// <summary>
/// <inheritdoc cref="IAuditPageGrain" path="/summary" />
/// Reentrant with group commit (<see cref="GroupWrite{TState}"/>): concurrent appends share one write, each answered once stored.
/// </summary>
[Reentrant]
public sealed class AuditPageGrain([PersistentState("audit", StorageNames.Sessions)] IPersistentState<AuditPageState> state)
    : GroupCommitGrain<AuditPageState>(state), IAuditPageGrain
{
    /// <inheritdoc />
    public async Task<PageAppend> Append(IReadOnlyList<PaymentAttempt> attempts)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        var entries = Storage.State.Entries;
        var take = Math.Max(Math.Min(attempts.Count, PageSizes.Audit - entries.Count), 0);
        entries.AddRange(attempts.Take(take));
        var answer = new PageAppend(take, entries.Count >= PageSizes.Audit);
        await Writes.CompleteAsync(take > 0);
        return answer;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PaymentAttempt>> ListNewestFirst()
    {
        IReadOnlyList<PaymentAttempt> entries = [.. Storage.State.Entries.AsEnumerable().Reverse()];
        await Writes.StoredAsync();
        return entries;
    }

    /// <inheritdoc />
    public async Task Clear()
    {
        // Only a page the agent has left behind is cleared, so nothing appends to it meanwhile.
        await Writes.StoredAsync();
        if (Storage.RecordExists)
        {
            await Writes.ClearAsync();
        }

        DeactivateOnIdle();
    }
}

/// <summary>
/// <inheritdoc cref="ISessionPageGrain" path="/summary" />
/// Reentrant with group commit (<see cref="GroupWrite{TState}"/>): concurrent adds and removes share one write, each answered
/// once stored.
/// </summary>
[Reentrant]
public sealed class SessionPageGrain([PersistentState("sessions", StorageNames.Sessions)] IPersistentState<SessionPageState> state)
    : GroupCommitGrain<SessionPageState>(state), ISessionPageGrain
{
    /// <inheritdoc />
    public async Task<PageAppend> Add(IReadOnlyList<Guid> sessionIds)
    {
        ArgumentNullException.ThrowIfNull(sessionIds);
        var page = Storage.State;
        var accepted = 0;
        var changed = false;
        foreach (var id in sessionIds)
        {
            if (page.Live.Exists(s => s.SessionId == id))
            {
                accepted++;
                continue;
            }

            if (page.Added >= PageSizes.Sessions)
            {
                break;
            }

            page.Live.Add(new SessionSlot { Slot = page.Added++, SessionId = id });
            accepted++;
            changed = true;
        }

        var answer = new PageAppend(accepted, page.Added >= PageSizes.Sessions);
        await Writes.CompleteAsync(changed);
        return answer;
    }

    /// <inheritdoc />
    public async Task<int> Remove(Guid sessionId)
    {
        var page = Storage.State;
        if (page.Live.RemoveAll(s => s.SessionId == sessionId) == 0)
        {
            await Writes.StoredAsync();
            return -1;
        }

        var remaining = page.Live.Count;
        if (remaining == 0 && page.Added >= PageSizes.Sessions)
        {
            // Full and empty: nothing is added to it again, so the record goes.
            await Writes.ClearAsync();
            DeactivateOnIdle();
        }
        else
        {
            await Writes.PersistAsync();
        }

        return remaining;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PageEntry>> List(int fromSlot, int max)
    {
        IReadOnlyList<PageEntry> entries = [.. Storage.State.Live.Where(s => s.Slot >= fromSlot).Take(Math.Max(max, 0)).Select(s => new PageEntry(s.Slot, s.SessionId))];
        await Writes.StoredAsync();
        return entries;
    }
}

/// <inheritdoc cref="IIdempotencyGrain" />
public sealed class IdempotencyGrain([PersistentState("key", StorageNames.Sessions)] IPersistentState<IdempotencyState> state) : Grain, IIdempotencyGrain
{
    /// <summary>
    /// The grain key of <paramref name="key"/> for <paramref name="agentId"/>: the agent id, '/', and the SHA-256 of the key in hex,
    /// so any key (up to 200 characters, any printable character) gives a short key of plain characters.
    /// </summary>
    public static string KeyFor(string agentId, string key)
    {
        ArgumentNullException.ThrowIfNull(agentId);
        ArgumentNullException.ThrowIfNull(key);
        return agentId + "/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <inheritdoc />
    public async Task<IdempotencyClaim> Claim(string fingerprint, Guid proposedSessionId)
    {
        if (state.RecordExists)
        {
            return new IdempotencyClaim(state.State.SessionId, false, state.State.Fingerprint == fingerprint);
        }

        state.State = new IdempotencyState { SessionId = proposedSessionId, Fingerprint = fingerprint };
        await state.WriteStateAsync();
        return new IdempotencyClaim(proposedSessionId, true, true);
    }

    /// <inheritdoc />
    public async Task Release(Guid sessionId)
    {
        if (state.RecordExists && state.State.SessionId == sessionId)
        {
            await state.ClearStateAsync();
            DeactivateOnIdle();
        }
    }
}
