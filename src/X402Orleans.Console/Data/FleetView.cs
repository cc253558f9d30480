using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Auth;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Payments;

namespace X402Orleans.OperatorConsole.Data;

/// <summary>
/// What the console shows, read from the cluster's grains. A part the cluster does not answer (a grain down or not deployed) is
/// logged and shown as unavailable; the page still renders.
/// </summary>
public sealed partial class FleetView(IGrainFactory grains, IOptions<X402Options> options, TimeProvider time, ILogger<FleetView> logger)
{
    /// <summary>Sessions looked at per search (the live ones of every agent, up to this many).</summary>
    public const int MaxSessionsScanned = 1000;

    /// <summary>Sessions per page.</summary>
    public const int PageSize = 20;

    /// <summary>Payment attempts read per agent (each agent keeps its newest ones).</summary>
    public const int AttemptsPerAgent = 500;

    /// <summary>Audit entries shown.</summary>
    public const int AuditEntries = 200;

    /// <summary>How long a dead silo stays on the overview after it was last alive.</summary>
    public static readonly TimeSpan DeadSilosShownFor = TimeSpan.FromHours(1);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);

    /// <summary>The clock the console uses.</summary>
    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>The configured agents (the anonymous local agent when none are).</summary>
    public IReadOnlyList<string> AgentIds { get; } = options.Value.Agents.Count == 0 ? [AgentIdentity.AnonymousAgentId] : [.. options.Value.Agents.Select(a => a.Id)];

    /// <summary>Whether <paramref name="agentId"/> is a configured agent.</summary>
    public bool IsAgent(string agentId) => AgentIds.Contains(agentId, StringComparer.Ordinal);

    /// <summary>The silos, active sessions, call statistics, today's payments and the controls.</summary>
    public async Task<OverviewData> OverviewAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        var silos = TryAsync("silos", async () => Silos(await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false), now), cancellationToken);
        var sessions = TryAsync("active sessions", async () => (int?)(await Task.WhenAll(AgentIds.Select(a => grains.GetGrain<IAgentGrain>(a).ListSessions()))).Sum(s => s.Count), cancellationToken);
        var stats = TryAsync("call statistics", () => grains.GetGrain<IFleetStatsGrain>(0).Read(now - Window), cancellationToken);
        var wallet = TryAsync("wallet", () => grains.GetGrain<IWalletGrain>(0).GetStatus(AgentIds[0]), cancellationToken);
        var controls = ControlsAsync(cancellationToken);
        await Task.WhenAll(silos, sessions, stats, wallet, controls);

        var buckets = await stats ?? [];
        var recent = buckets.Where(b => b.Start >= CallLatency.BucketStart(now) - RateWindow && b.Start < CallLatency.BucketStart(now)).ToList();
        var callsPerSecond = recent.Sum(b => b.Calls) / RateWindow.TotalSeconds;
        var payments = (await wallet)?.Assets.Select(a => new AssetSpendRow(a.Asset, a.Symbol, a.Network, a.Decimals, a.WalletCommittedAtomic, a.WalletDailyLimitAtomic)).ToList();
        return new OverviewData(await silos, await sessions, callsPerSecond, Median(recent.Select(b => b.LatencyCounts)), Series(buckets, now), payments, await controls, now);
    }

    /// <summary>
    /// The silos worth showing: every one not dead, and a dead one only if it was alive within <see cref="DeadSilosShownFor"/>
    /// (membership keeps dead entries much longer); active ones first, then by address.
    /// </summary>
    public static IReadOnlyList<SiloRow> Silos(IEnumerable<MembershipEntry> hosts, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        return [.. hosts
            .Where(h => h.Status != SiloStatus.Dead || LastAlive(h) >= now - DeadSilosShownFor)
            .OrderBy(h => h.Status == SiloStatus.Active ? 0 : 1)
            .ThenBy(h => h.SiloAddress.Endpoint.ToString(), StringComparer.Ordinal)
            .ThenByDescending(h => h.SiloAddress.Generation)
            .Select(h => new SiloRow(h.SiloAddress.Endpoint.ToString(), h.SiloAddress.ToString(), h.Status.ToString(), h.SiloName))];
    }

    private static DateTimeOffset LastAlive(MembershipEntry host) =>
        new(DateTime.SpecifyKind(host.IAmAliveTime > host.StartTime ? host.IAmAliveTime : host.StartTime, DateTimeKind.Utc));

    /// <summary>
    /// One point per finished 10-second bucket of the chart's window, oldest first, from the first bucket a gateway reported on: a
    /// bucket after it that nobody reported (no calls) is a zero, so the line is continuous; before it nothing was measured, so
    /// there are no points (an empty series when nothing was reported).
    /// </summary>
    public static IReadOnlyList<SeriesPoint> Series(IReadOnlyList<CallStatsBucket> buckets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var first = CallLatency.BucketStart(now - Window) + CallLatency.BucketWidth;
        var end = CallLatency.BucketStart(now);
        var reported = buckets.Where(b => b.Start >= first && b.Start < end).GroupBy(b => b.Start).ToDictionary(g => g.Key, g => g.ToList());
        var points = new List<SeriesPoint>();
        for (var start = reported.Count == 0 ? end : reported.Keys.Min(); start < end; start += CallLatency.BucketWidth)
        {
            points.Add(reported.TryGetValue(start, out var at)
                ? new SeriesPoint(start, at.Sum(b => b.Calls), at.Sum(b => b.Errors), Median(at.Select(b => b.LatencyCounts)))
                : new SeriesPoint(start, 0, 0, null));
        }

        return points;
    }

    /// <summary>The controls in force, or null when the cluster does not answer.</summary>
    public Task<FleetControls?> ControlsAsync(CancellationToken cancellationToken) =>
        TryAsync("fleet controls", () => grains.GetGrain<IOperatorControlGrain>(0).GetControls(), cancellationToken);

    /// <summary>Every configured agent with its live sessions, today's spend and limits, and whether it is suspended.</summary>
    public async Task<IReadOnlyList<AgentRow>> AgentsAsync(CancellationToken cancellationToken)
    {
        var controls = await ControlsAsync(cancellationToken);
        var rows = await Task.WhenAll(AgentIds.Select(async id =>
        {
            var sessions = TryAsync($"sessions of {id}", async () => (int?)(await grains.GetGrain<IAgentGrain>(id).ListSessions()).Count, cancellationToken);
            var wallet = TryAsync($"spend of {id}", () => grains.GetGrain<IWalletGrain>(0).GetStatus(id), cancellationToken);
            await Task.WhenAll(sessions, wallet);
            return new AgentRow(id, await sessions, (await wallet)?.Assets is { } assets ? Budgets(assets) : null, controls?.IsSuspended(id));
        }));
        return rows;
    }

    /// <summary>An agent's budgets worth a line: those it spent in today or that have a daily limit for it.</summary>
    public static IReadOnlyList<AssetBudgetView> Budgets(IEnumerable<AssetBudgetView> assets)
    {
        ArgumentNullException.ThrowIfNull(assets);
        return [.. assets.Where(a => a.AgentDailyLimitAtomic is not null || (AtomicAmount.TryParseAtomic(a.AgentCommittedAtomic, out var spent) && !spent.IsZero))];
    }

    /// <summary>
    /// A session's per-payment cap (a decimal, applied in whatever asset a quote asks for) as atomic + decimal + symbol, once per
    /// asset the session paid in, or else per asset the agent's wallet knows; the cap's own text when there is none.
    /// </summary>
    public async Task<IReadOnlyList<string>> MaxPaymentAsync(SessionSnapshot session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var units = session.PaidTotals.Select(t => (t.Symbol, t.Decimals)).Concat(session.Payments.Select(p => (p.Symbol, p.Decimals))).Distinct().ToList();
        if (units.Count == 0)
        {
            var wallet = await TryAsync("wallet", () => grains.GetGrain<IWalletGrain>(0).GetStatus(session.AgentId), cancellationToken);
            units = [.. (wallet?.Assets ?? []).Select(a => (a.Symbol, a.Decimals)).Distinct()];
        }

        return units.Count == 0 ? [session.MaxPayment] : [.. units.Select(u => Amounts.ShowDecimal(session.MaxPayment, u.Decimals, u.Symbol))];
    }

    /// <summary>
    /// Live sessions (of every agent) whose id, agent or endpoint contains <paramref name="query"/> (case-insensitive; empty:
    /// all), newest first, one page of <see cref="PageSize"/>.
    /// </summary>
    public async Task<SessionPage> SearchSessionsAsync(string? query, int page, CancellationToken cancellationToken)
    {
        page = Math.Max(1, page);
        var complete = true;
        var owned = new List<(string Agent, Guid Id)>();
        foreach (var agent in AgentIds)
        {
            var ids = await TryAsync($"sessions of {agent}", () => grains.GetGrain<IAgentGrain>(agent).ListSessions(), cancellationToken);
            complete &= ids is not null;
            owned.AddRange((ids ?? []).Select(id => (agent, id)));
        }

        if (owned.Count > MaxSessionsScanned)
        {
            complete = false;
            owned = owned[^MaxSessionsScanned..];
        }

        var snapshots = new List<SessionSnapshot>();
        foreach (var chunk in owned.Chunk(64))
        {
            var results = await Task.WhenAll(chunk.Select(s => TryAsync($"session {s.Id}", () => grains.GetGrain<ISessionGrain>(s.Id).GetStatus(s.Agent, cancellationToken), cancellationToken)));
            snapshots.AddRange(results.Select(r => r?.Session).OfType<SessionSnapshot>());
        }

        var q = query?.Trim() ?? "";
        var matching = snapshots
            .Where(s => q.Length == 0
                || s.SessionId.ToString().Contains(q, StringComparison.OrdinalIgnoreCase)
                || s.SessionId.ToString("N").Contains(q, StringComparison.OrdinalIgnoreCase)
                || s.AgentId.Contains(q, StringComparison.OrdinalIgnoreCase)
                || s.Endpoint.Contains(q, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(s => s.CreatedAt)
            .ToList();
        var shown = matching.Skip((page - 1) * PageSize).Take(PageSize).ToList();
        return new SessionPage(shown, page, matching.Count > page * PageSize, complete);
    }

    /// <summary>One session's detail, or null when there is no such session. Throws when the cluster does not answer.</summary>
    public Task<SessionDetail?> SessionAsync(Guid sessionId) =>
        grains.GetGrain<ISessionOperatorGrain>(sessionId).Inspect().WaitAsync(Timeout);

    /// <summary>Every agent's payment attempts merged, newest first, filtered by agent and outcome (exact; null or empty: any).</summary>
    public async Task<IReadOnlyList<PaymentRow>> PaymentsAsync(string? agent, string? outcome, CancellationToken cancellationToken)
    {
        var agents = string.IsNullOrEmpty(agent) ? AgentIds : AgentIds.Where(a => string.Equals(a, agent, StringComparison.Ordinal)).ToList();
        var logs = await Task.WhenAll(agents.Select(async id =>
            (await TryAsync($"payments of {id}", () => grains.GetGrain<IAgentGrain>(id).ListAttempts(AttemptsPerAgent), cancellationToken) ?? [])
                .Select(a => new PaymentRow(id, a))));
        return [.. logs.SelectMany(l => l)
            .Where(r => string.IsNullOrEmpty(outcome) || string.Equals(r.Attempt.Outcome, outcome, StringComparison.Ordinal))
            .OrderByDescending(r => r.Attempt.At)];
    }

    /// <summary>The newest operator actions, newest first (null: the cluster did not answer).</summary>
    public Task<IReadOnlyList<OperatorAction>?> AuditAsync(CancellationToken cancellationToken) =>
        TryAsync("audit trail", () => grains.GetGrain<IOperatorControlGrain>(0).ListActions(AuditEntries), cancellationToken);

    /// <summary>Writes an action that is not a control change to the audit trail; a failure is logged, never thrown.</summary>
    public async Task RecordAsync(string operatorName, string action, string target, string? detail = null)
    {
        try
        {
            await grains.GetGrain<IOperatorControlGrain>(0).RecordAction(new OperatorAction(Now, operatorName, action, target, detail)).WaitAsync(Timeout);
        }
        catch (Exception ex)
        {
            Log.RecordFailed(logger, action, operatorName, ex);
        }
    }

    /// <summary>The median latency bound over <paramref name="histograms"/> (null: no calls; beyond the last bound: the last bound).</summary>
    public static double? Median(IEnumerable<IReadOnlyList<long>> histograms)
    {
        ArgumentNullException.ThrowIfNull(histograms);
        var merged = new long[CallLatency.UpperBoundsMs.Count + 1];
        foreach (var counts in histograms)
        {
            for (var i = 0; i < Math.Min(merged.Length, counts.Count); i++)
            {
                merged[i] += counts[i];
            }
        }

        var median = CallLatency.MedianUpperBoundMs(merged);
        return median is { } m && double.IsInfinity(m) ? CallLatency.UpperBoundsMs[^1] : median;
    }

    /// <summary>Logs that <paramref name="what"/> could not be read.</summary>
    public void ReadFailed(string what, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Log.ReadFailed(logger, what, exception.GetType().Name, exception.Message);
    }

    private async Task<T?> TryAsync<T>(string what, Func<Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            return await read().WaitAsync(Timeout, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            ReadFailed(what, ex);
            return default;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1300, LogLevel.Warning, "Operator console: {What} not available ({Error}: {Message})")]
        public static partial void ReadFailed(ILogger logger, string what, string error, string message);

        [LoggerMessage(1301, LogLevel.Warning, "Operator console: the audit trail did not take '{Action}' by {Operator}")]
        public static partial void RecordFailed(ILogger logger, string action, string @operator, Exception exception);
    }
}
