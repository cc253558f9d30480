using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// An agent's index of live sessions, idempotency keys and payment attempts. Its own record holds page numbers only:
/// attempts go to append-only <see cref="IAuditPageGrain"/> pages (a full page is never written again; pages older than the
/// newest <see cref="MaxAuditEntries"/> attempts are deleted), sessions to <see cref="ISessionPageGrain"/> pages (each session
/// remembers its page, so ending it touches one page), and each idempotency key to its own <see cref="IIdempotencyGrain"/>
/// (released by its session). So a start costs the same for an agent's 100 000th session as for its first. The grain only
/// ever calls those page and key grains, which call nobody, so no call chain can come back to it.
/// Reentrant with group commit (<see cref="GroupWrite{TState}"/>), like its page grains: a call changes the page numbers only
/// synchronously and at most once per page (a page is left for the next only by the caller that still sees it as the newest), asks
/// for the write in the same turn, and answers only once everything it changed or saw is stored. A failed write fails its callers
/// and deactivates the grain.
/// </summary>
[Reentrant]
public sealed partial class AgentGrain(
    [PersistentState("agent", StorageNames.Sessions)] IPersistentState<AgentState> state,
    ILogger<AgentGrain> logger) : GroupCommitGrain<AgentState>(state), IAgentGrain
{
    /// <summary>How many payment attempts the audit log keeps per agent.</summary>
    public const int MaxAuditEntries = 1000;

    /// <summary>How many session pages one <see cref="ListSessionsPage"/> call reads at most (the rest is left to the next cursor).</summary>
    internal const int MaxPagesPerList = 16;

    /// <summary>Audit pages kept: enough for <see cref="MaxAuditEntries"/> behind a partly filled newest page.</summary>
    private const int KeptAuditPages = (MaxAuditEntries / PageSizes.Audit) + 1;

    private const int MigrationBatch = 64;

    private AgentState S => Storage.State;

    private string AgentId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.HasLegacyMembers)
        {
            await MigrateAsync();
        }

        await base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task RecordAttempt(PaymentAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        await AppendAttemptsAsync([attempt]);
        await Writes.StoredAsync();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PaymentAttempt>> ListAttempts(int limit)
    {
        var take = Math.Clamp(limit, 1, MaxAuditEntries);
        var oldest = Math.Max(0, S.AuditPage - KeptAuditPages + 1);
        var result = new List<PaymentAttempt>(Math.Min(take, PageSizes.Audit));
        for (var page = S.AuditPage; page >= oldest && result.Count < take; page--)
        {
            var entries = await AuditPage(page).ListNewestFirst();
            result.AddRange(entries.Take(take - result.Count));
        }

        await Writes.StoredAsync();
        return result;
    }

    /// <inheritdoc />
    public async Task<long> Register(Guid sessionId)
    {
        var page = await AddSessionsAsync([sessionId]);
        await Writes.StoredAsync();
        return page;
    }

    /// <inheritdoc />
    public async Task Unregister(Guid sessionId, long page)
    {
        IReadOnlyList<long> pages = page >= 0 ? [page] : [.. S.LiveSessionPages];
        foreach (var candidate in pages)
        {
            var remaining = await SessionPage(candidate).Remove(sessionId);
            if (remaining < 0)
            {
                continue;
            }

            await Writes.CompleteAsync(remaining == 0 && candidate != S.SessionPage && S.LiveSessionPages.Remove(candidate));
            return;
        }

        await Writes.StoredAsync();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Guid>> ListSessions()
    {
        var all = new List<Guid>();
        long? from = 0;
        while (from is { } position)
        {
            var page = await ListSessionsPage(position, 200);
            all.AddRange(page.SessionIds);
            from = page.Next;
        }

        return all;
    }

    /// <inheritdoc />
    public async Task<SessionIndexPage> ListSessionsPage(long from, int limit)
    {
        var take = Math.Clamp(limit, 1, 200);
        var startPage = Math.Max(from, 0) / PageSizes.Sessions;
        var startSlot = (int)(Math.Max(from, 0) % PageSizes.Sessions);
        var found = new List<(long Position, Guid SessionId)>(take + 1);
        var visited = 0;
        foreach (var page in S.LiveSessionPages.Where(p => p >= startPage).ToList())
        {
            if (visited++ == MaxPagesPerList)
            {
                // Bounded work per call: the caller continues from this page.
                await Writes.StoredAsync();
                return new SessionIndexPage([.. found.Select(f => f.SessionId)], page * PageSizes.Sessions);
            }

            var entries = await SessionPage(page).List(page == startPage ? startSlot : 0, take + 1 - found.Count);
            found.AddRange(entries.Select(e => ((page * PageSizes.Sessions) + e.Slot, e.SessionId)));
            if (found.Count > take)
            {
                await Writes.StoredAsync();
                return new SessionIndexPage([.. found.Take(take).Select(f => f.SessionId)], found[take].Position);
            }
        }

        await Writes.StoredAsync();
        return new SessionIndexPage([.. found.Select(f => f.SessionId)], null);
    }

    /// <inheritdoc />
    public Task<IdempotencyClaim> ClaimIdempotencyKey(string key, string fingerprint, Guid proposedSessionId) =>
        GrainFactory.GetGrain<IIdempotencyGrain>(IdempotencyGrain.KeyFor(AgentId, key)).Claim(fingerprint, proposedSessionId);

    /// <inheritdoc />
    public Task ReleaseIdempotencyKey(string key, Guid sessionId) =>
        GrainFactory.GetGrain<IIdempotencyGrain>(IdempotencyGrain.KeyFor(AgentId, key)).Release(sessionId);

    private IAuditPageGrain AuditPage(long page) => GrainFactory.GetGrain<IAuditPageGrain>(PageSizes.PageKey(AgentId, page));

    private ISessionPageGrain SessionPage(long page) => GrainFactory.GetGrain<ISessionPageGrain>(PageSizes.PageKey(AgentId, page));

    /// <summary>Appends attempts (oldest first) to the newest page, moving on to a new page (and deleting the oldest kept one) when it fills.</summary>
    private async Task AppendAttemptsAsync(IReadOnlyList<PaymentAttempt> attempts)
    {
        var offset = 0;
        while (offset < attempts.Count)
        {
            var page = S.AuditPage;
            var result = await AuditPage(page).Append([.. attempts.Skip(offset)]);
            offset += result.Accepted;
            if (result.Full && page == S.AuditPage)
            {
                // Only the first caller back from the full page moves on; the others retry on the new page.
                S.AuditPage++;
                await Writes.PersistAsync();
                if (page + 1 - KeptAuditPages >= 0)
                {
                    await AuditPage(page + 1 - KeptAuditPages).Clear();
                }
            }
        }
    }

    /// <summary>Adds sessions to the newest session page, moving on to a new page when it fills; returns the page of the last one.</summary>
    private async Task<long> AddSessionsAsync(IReadOnlyList<Guid> sessionIds)
    {
        var offset = 0;
        var last = S.SessionPage;
        while (offset < sessionIds.Count)
        {
            var page = S.SessionPage;
            if (!S.LiveSessionPages.Contains(page))
            {
                // Listed in the same turn as the write is asked for, so any caller answered later waits for it (the caller
                // does so with StoredAsync); listing a page before it holds a session is harmless.
                S.LiveSessionPages.Add(page);
                Writes.Schedule();
            }

            var result = await SessionPage(page).Add([.. sessionIds.Skip(offset)]);
            offset += result.Accepted;
            if (result.Accepted > 0)
            {
                last = page;
            }

            if (result.Full && page == S.SessionPage)
            {
                // Only the first caller back from the full page moves on; the others retry on the new page.
                S.SessionPage++;
                Writes.Schedule();
            }
        }

        return last;
    }

    /// <summary>
    /// Moves a record written by schema version 1 (sessions, keys and attempts inline) into pages and key grains, then writes it
    /// back trimmed. Runs once: a crash part-way repeats it from the old record, which at worst lists an attempt twice.
    /// </summary>
    private async Task MigrateAsync()
    {
        var sessions = S.Sessions.Count;
        var keys = S.IdempotencyKeys.Count;
        var attempts = S.Attempts.Count;
        await AppendAttemptsAsync([.. S.Attempts]);
        await AddSessionsAsync([.. S.Sessions]);
        foreach (var batch in S.IdempotencyKeys.Chunk(MigrationBatch))
        {
            await Task.WhenAll(batch.Select(k =>
                GrainFactory.GetGrain<IIdempotencyGrain>(IdempotencyGrain.KeyFor(AgentId, k.Key)).Claim(k.Value.Fingerprint, k.Value.SessionId)));
        }

        S.Sessions.Clear();
        S.IdempotencyKeys.Clear();
        S.Attempts.Clear();
        S.SchemaVersion = AgentState.CurrentSchemaVersion;
        await Writes.PersistAsync();
        Log.Migrated(logger, AgentId, sessions, keys, attempts);
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "Agent {AgentId} index moved to pages: {Sessions} live sessions, {Keys} idempotency keys, {Attempts} payment attempts")]
        public static partial void Migrated(ILogger logger, string agentId, int sessions, int keys, int attempts);
    }
}
