using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Http;
using X402Orleans.Gateway.Observability;
using X402Orleans.Payments;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Scope;

namespace X402Orleans.Gateway.Sessions;

/// <summary>Arguments of x402_session_start after binding.</summary>
public sealed record StartArguments(string? Endpoint, string? Scope, int? TtlSeconds, string? Label, string? MaxPayment, string? Method, IReadOnlyDictionary<string, string>? Headers, string? Body, int? TimeoutMs, string? IdempotencyKey, bool? AllowRepeatPayments, string? MaxTotal = null);

/// <summary>Arguments of x402_session_fetch after binding.</summary>
public sealed record FetchArguments(string? SessionId, string? Url, string? Method, IReadOnlyDictionary<string, string>? Headers, string? Body, int? TimeoutMs);

/// <summary>The session tools' logic: validates arguments, routes to grains, runs the HTTP exchange outside them, shapes results.</summary>
public sealed partial class SessionService
{
    /// <summary>Response headers passed back to agents.</summary>
    public static readonly IReadOnlySet<string> SelectedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "content-type", "content-length", "content-language", "cache-control", "etag", "last-modified", "location", "retry-after", "x-request-id", "link",
    };

    private readonly IGrainFactory _grains;
    private readonly PaymentExchange _exchange;
    private readonly ProofCache _proofs;
    private readonly X402Options _options;
    private readonly SessionRoutes _routes = new();
    private readonly ClusterChangeSignal _clusterChange;
    private readonly ILogger _logger;
    private readonly CallStatsRecorder? _stats;
    private readonly ChannelRefunds _refunds;

    internal SessionService(IGrainFactory grains, PaymentExchange exchange, ProofCache proofs, IOptions<X402Options> options, ClusterChangeSignal clusterChange, ILogger<SessionService> logger, ChannelRefunds refunds, CallStatsRecorder? stats = null)
    {
        _refunds = refunds;
        _stats = stats;
        _grains = grains;
        _clusterChange = clusterChange;
        _logger = logger;
        _exchange = exchange;
        _proofs = proofs;
        _options = options.Value;
    }

    /// <summary>
    /// Starts a session: first request, payment if demanded, session active — driven by the session grain's saga. The session id
    /// is derived from (agent, idempotency key) — a key of the gateway's own when the agent gives none — so the whole start is
    /// retried safely when the cluster fails over mid-way: the grain replays a finished start, resends a pending payment, or
    /// lets this attempt proceed; it never pays twice for one start.
    /// </summary>
    public async Task<StartResult> StartAsync(string agentId, StartArguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!EndpointScope.TryParseMode(args.Scope, out var mode))
        {
            throw new ToolError($"scope must be 'prefix' or 'exact' (got '{RequestArguments.Clip(args.Scope!)}')");
        }

        if (!EndpointScope.TryCreate(args.Endpoint, mode, out var scope, out var why))
        {
            throw new ToolError($"endpoint: {why}");
        }

        var ttl = args.TtlSeconds ?? _options.Sessions.DefaultTtlSeconds;
        if (ttl < _options.Sessions.MinTtlSeconds || ttl > 2592000)
        {
            throw new ToolError($"ttl_seconds must be between {_options.Sessions.MinTtlSeconds.ToString(CultureInfo.InvariantCulture)} and 2592000 (got {ttl.ToString(CultureInfo.InvariantCulture)})");
        }

        if (args.Label is { Length: > 100 })
        {
            throw new ToolError("label must be at most 100 characters");
        }

        var maxPayment = args.MaxPayment ?? _options.Payments.MaxPayment;
        if (!AtomicAmount.TryParseDecimal(maxPayment, 18, out _, out why))
        {
            throw new ToolError($"max_payment: {why}");
        }

        var maxTotal = args.MaxTotal ?? _options.Payments.SessionLimit;
        if (maxTotal is not null && !AtomicAmount.TryParseDecimal(maxTotal, 18, out _, out why))
        {
            throw new ToolError($"max_total: {why}");
        }

        if (args.IdempotencyKey is { } key && (key.Length is 0 or > 200 || key.Any(char.IsControl)))
        {
            throw new ToolError("idempotency_key must be 1 to 200 printable characters");
        }

        var request = RequestArguments.Build(scope!.Endpoint, args.Method, args.Headers, args.Body, args.TimeoutMs, _options.Http);
        var allowRepeat = args.AllowRepeatPayments ?? true;
        var startKey = args.IdempotencyKey ?? $"gateway:{Guid.NewGuid():N}";
        var sessionId = SessionIds.ForStart(agentId, startKey);
        var command = new OpenSessionCommand(
            agentId, scope.Endpoint.AbsoluteUri, ModeName(mode), args.Label, TimeSpan.FromSeconds(ttl), maxPayment, allowRepeat, maxTotal, args.IdempotencyKey,
            Fingerprint(scope, args, ttl, maxPayment, allowRepeat), Guid.NewGuid(), request.Timeout);
        using var call = X402Telemetry.BeginCall("start", sessionId, _stats);
        var result = await ClusterRetry.RunAsync(_ => StartOnceAsync(sessionId, command, scope, request, cancellationToken), _clusterChange, cancellationToken);
        call.Complete(result.Access);
        return result.Result;
    }

    private async Task<(StartResult Result, AccessKind Access)> StartOnceAsync(Guid sessionId, OpenSessionCommand command, EndpointScope scope, UpstreamRequest request, CancellationToken cancellationToken)
    {
        var agentId = command.AgentId;
        var grain = _grains.GetGrain<ISessionGrain>(sessionId);
        var step = await grain.BeginStart(command);
        switch (step.Kind)
        {
            case StartStepKind.Refused:
                throw new ToolError(step.Message);
            case StartStepKind.Busy:
                throw new ToolError(step.Message);
            case StartStepKind.Done:
                return (Replay(step.Session!), AccessKind.Free);
        }

        FaultInjection.Hit(FaultPoints.StartOpened);
        var context = new ExchangeContext(agentId, sessionId, grain, scope, true, string.Empty, command.AttemptId);
        ExchangeResult result;
        try
        {
            result = step.Kind == StartStepKind.Resend
                ? await _exchange.SendPaymentAsync(context, request, step.Resend!, step.ResendReservationId, DateTimeOffset.UtcNow + request.Timeout, cancellationToken, resent: true)
                : await _exchange.RunAsync(context, request, cancellationToken);
        }
        catch (ToolError ex)
        {
            // Abandoning fails the session (the key then starts afresh) — unless a payment of this start may have settled: then
            // the session stays open for a retry with the same key to resolve it, and says so.
            var abandoned = await grain.Abandon(agentId, ex.Message);
            throw new ToolError(abandoned.Succeeded || abandoned.Session is not { Status: SessionStatus.Starting }
                ? $"session not started: {ex.Message}"
                : $"session not started yet: {ex.Message}; {abandoned.Message}");
        }

        FaultInjection.Hit(FaultPoints.StartBeforeActivate);
        var reuse = result.SignInWithXOffered ? ReuseMode.SignInWithX : result.Access == AccessKind.Paid ? ReuseMode.PayPerCall : ReuseMode.Free;
        var activated = await grain.Activate(agentId, reuse, result.ResourceUrl);
        var snapshot = activated.Session is { Status: SessionStatus.Active } active ? active : throw new ToolError(activated.Message);
        var note = result.Access switch
        {
            AccessKind.Paid when result.PaidEarlier => "paid (settled by an earlier attempt of this start; that attempt's response was lost)",
            AccessKind.Paid => "paid",
            AccessKind.SignInWithX => "access by sign-in-with-x (already paid)",
            _ => "no payment required",
        };
        return (new StartResult(
            sessionId.ToString(),
            snapshot.Endpoint,
            snapshot.Scope,
            snapshot.Label,
            Iso(snapshot.ExpiresAt),
            ReuseName(snapshot.Reuse),
            result.SignInWithXOffered,
            result.Receipt is null ? null : ToInfo(result.Receipt),
            note,
            ToResponse(result.Response),
            false), result.Access);
    }

    /// <summary>
    /// Calls through a session. One grain turn in the common case: <see cref="ISessionGrain.BeginCall"/> authorises the call and
    /// persists its count before the request goes out; a second turn only records what else happened (the call got no answer
    /// and is uncounted, or the server reported another reuse mode); payments record themselves through their own turns.
    /// </summary>
    public async Task<FetchResult> FetchAsync(string agentId, FetchArguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var sessionId = ParseId(args.SessionId);
        using var call = X402Telemetry.BeginCall("fetch", sessionId, _stats);
        var grain = _grains.GetGrain<ISessionGrain>(sessionId);
        var callId = Guid.NewGuid();
        var ticket = await ClusterRetry.RunAsync(ct => grain.BeginCall(agentId, args.Url, callId, ct), _clusterChange, cancellationToken);
        if (!ticket.Allowed)
        {
            throw new ToolError(ticket.Message);
        }

        ExchangeResult result;
        try
        {
            var scope = _routes.For(ticket);
            var request = RequestArguments.Build(new Uri(ticket.Url), args.Method, args.Headers, args.Body, args.TimeoutMs, _options.Http);
            var refusal = ticket.Reuse == ReuseMode.SignInWithX
                ? "the server did not accept this wallet's sign-in-with-x proof and demands payment, but the session does not allow repeat payments"
                : "the server demands payment and the session does not allow repeat payments";
            var context = new ExchangeContext(agentId, sessionId, grain, scope, ticket.AllowRepeatPayments, refusal);
            result = await _exchange.RunAsync(context, request, cancellationToken);
        }
        catch (Exception)
        {
            // Counted when it began, but no answer reaches the agent: take the count back before answering. If even that
            // fails (the cluster is unreachable), the agent still gets the call's own error; the count keeps this one call.
            var undelivered = new CallOutcome(false, 0, ReuseMode.Unknown, null, callId);
            try
            {
                await ClusterRetry.RunAsync(ct => grain.CompleteCall(agentId, undelivered, ct), _clusterChange, CancellationToken.None);
            }
            catch (Exception ex) when (ClusterRetry.IsClusterFailure(ex))
            {
            }

            throw;
        }

        var observed = result.SignInWithXOffered ? ReuseMode.SignInWithX : ReuseMode.Unknown;
        var callCount = ticket.CallCount;
        if ((observed != ReuseMode.Unknown && observed != ticket.Reuse) || (ticket.ResourceUrl is null && result.ResourceUrl is not null))
        {
            // The server served the call and BeginCall counted it: the response goes to the agent even if this note (the reuse
            // mode or resource the server reported) cannot be recorded; a later call reports it again.
            var outcome = new CallOutcome(true, result.Response.Status, observed, result.ResourceUrl, callId);
            try
            {
                var completed = await ClusterRetry.RunAsync(ct => grain.CompleteCall(agentId, outcome, ct), _clusterChange, CancellationToken.None);
                callCount = completed.Session?.CallCount ?? callCount;
            }
            catch (Exception ex) when (ClusterRetry.IsClusterFailure(ex))
            {
                LogOutcomeNotRecorded(_logger, sessionId, ex);
            }
        }

        var response = ToResponse(result.Response);
        call.Complete(result.Access);
        return new FetchResult(
            sessionId.ToString(),
            result.Response.Url.AbsoluteUri,
            result.Access switch { AccessKind.Paid => "paid", AccessKind.SignInWithX => "sign-in-with-x", _ => "free" },
            result.Receipt is null ? null : ToInfo(result.Receipt),
            callCount,
            response.Status,
            response.ContentType,
            response.Headers,
            response.Body,
            response.BodyEncoding,
            response.Truncated);
    }

    /// <summary>One session, or one page of the caller's live sessions (oldest first).</summary>
    public async Task<StatusResult> StatusAsync(string agentId, string? sessionId, string? cursor = null, int? limit = null)
    {
        if (!string.IsNullOrEmpty(sessionId))
        {
            var grain = _grains.GetGrain<ISessionGrain>(ParseId(sessionId));
            var result = await ClusterRetry.RunAsync(ct => grain.GetStatus(agentId, ct), _clusterChange, CancellationToken.None);
            return result.Session is { } s ? new StatusResult([ToInfo(s)]) : throw new ToolError(result.Message);
        }

        var take = limit ?? DefaultStatusLimit;
        if (take is < 1 or > MaxStatusLimit)
        {
            throw new ToolError($"limit must be between 1 and {MaxStatusLimit.ToString(CultureInfo.InvariantCulture)} (got {take.ToString(CultureInfo.InvariantCulture)})");
        }

        var page = await _grains.GetGrain<IAgentGrain>(agentId).ListSessionsPage(ParseCursor(cursor), take);
        var snapshots = await Task.WhenAll(page.SessionIds.Select(id => _grains.GetGrain<ISessionGrain>(id).GetStatus(agentId)));
        return new StatusResult(
            [.. snapshots
                .Where(r => r.Session is { Status: SessionStatus.Active or SessionStatus.Starting })
                .Select(r => ToInfo(r.Session!))],
            page.Next is { } next ? CursorPrefix + next.ToString(CultureInfo.InvariantCulture) : null);
    }

    /// <summary>Ends a session.</summary>
    public async Task<EndResult> EndAsync(string agentId, string? sessionId)
    {
        var id = ParseId(sessionId);
        var grain = _grains.GetGrain<ISessionGrain>(id);
        var result = await grain.End(agentId);
        var s = result.Session ?? throw new ToolError(result.Message);
        _proofs.Forget(id, new Uri(s.Endpoint));
        var (after, receipt) = await _refunds.RunAsync(agentId, grain, s, CancellationToken.None);
        if (after.AllChannels.Any(c => c.RefundDue))
        {
            // Not done now (the server did not answer): the silo's refund service retries it.
            await _grains.GetGrain<IChannelRefundQueueGrain>(0).Add(id, agentId);
        }

        var refunded = receipt is null ? null : new AmountInfo(Units(receipt.AmountAtomic, receipt.Decimals)!, receipt.AmountAtomic, receipt.Symbol, receipt.Asset, receipt.Network);
        return new EndResult(id.ToString(), after.Endpoint, result.Message, after.CallCount, Totals(after.PaidTotals), ToInfo(after.Channel), refunded, ToInfos(after));
    }

    private static StartResult Replay(SessionSnapshot s)
    {
        var payment = s.Payments.Count > 0 ? ToInfo(s.Payments[0]) : null;
        var response = new ResponseInfo(0, null, new Dictionary<string, string>(), "(idempotent replay: the first response is returned only once)", "text", false);
        return new StartResult(s.SessionId.ToString(), s.Endpoint, s.Scope, s.Label, Iso(s.ExpiresAt), ReuseName(s.Reuse), s.Reuse == ReuseMode.SignInWithX, payment, payment is null ? "no payment required" : "paid", response, true);
    }

    private ResponseInfo ToResponse(UpstreamResponse response)
    {
        var max = _options.Http.MaxBodyChars;
        var text = response.BodyText;
        var truncated = response.Truncated || text.Length > max;
        var headers = response.Headers.Where(h => SelectedHeaders.Contains(h.Key)).ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return new ResponseInfo(response.Status, response.ContentType, headers, text.Length > max ? text[..max] : text, response.IsText ? "text" : "base64", truncated);
    }

    /// <summary>Sessions listed per x402_session_status page when no limit is given.</summary>
    public const int DefaultStatusLimit = 50;

    /// <summary>Most sessions one x402_session_status page lists.</summary>
    public const int MaxStatusLimit = 200;

    private const string CursorPrefix = "s1.";

    /// <summary>The index position a status cursor stands for (the cursor is opaque to callers: a version tag and a position).</summary>
    private static long ParseCursor(string? cursor) =>
        string.IsNullOrEmpty(cursor)
            ? 0
            : cursor.StartsWith(CursorPrefix, StringComparison.Ordinal)
                && long.TryParse(cursor.AsSpan(CursorPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var position)
                ? position
                : throw new ToolError($"cursor is not one returned by x402_session_status (got '{RequestArguments.Clip(cursor)}')");

    internal static Guid ParseId(string? sessionId) =>
        Guid.TryParseExact(sessionId?.Trim() ?? string.Empty, "D", out var id) ? id : throw new ToolError($"session_id must be a UUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301 (got '{RequestArguments.Clip(sessionId ?? string.Empty)}')");

    private static string Fingerprint(EndpointScope scope, StartArguments args, int ttl, string maxPayment, bool allowRepeat)
    {
        var canonical = JsonSerializer.Serialize(new object?[]
        {
            scope.Endpoint.AbsoluteUri, ModeName(scope.Mode), ttl, args.Label, maxPayment, args.MaxTotal, (args.Method ?? "GET").ToUpperInvariant(), args.Body, allowRepeat,
            args.Headers?.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).Select(h => $"{h.Key.ToLowerInvariant()}:{h.Value}").ToArray(),
        });
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    internal static SessionInfo ToInfo(SessionSnapshot s) => new(
        s.SessionId.ToString(),
        s.Endpoint,
        s.Scope,
        s.Label,
        s.Status.ToString().ToLowerInvariant(),
        Iso(s.CreatedAt),
        Iso(s.ExpiresAt),
        s.EndedAt is { } e ? Iso(e) : null,
        s.CallCount,
        s.LastUsedAt is { } u ? Iso(u) : null,
        ReuseName(s.Reuse),
        s.MaxPayment,
        Totals(s.PaidTotals),
        [.. s.Payments.Select(ToInfo)],
        ToInfo(s.Channel),
        ToInfos(s));

    internal static PaymentInfo ToInfo(PaymentReceipt r) =>
        new(Units(r.AmountAtomic, r.Decimals)!, r.AmountAtomic, r.Asset, r.Symbol, r.Network, r.PayTo, r.Payer, r.Transaction, r.Simulated,
            r.Scheme ?? (r.MaximumAtomic is null ? "exact" : "upto"),
            Units(r.MaximumAtomic, r.Decimals),
            r.MaximumAtomic,
            Units(r.DepositAtomic, r.Decimals),
            Units(r.ChannelRemainingAtomic, r.Decimals));

    internal static ChannelInfo? ToInfo(SessionChannel? c) => c is null
        ? null
        : new ChannelInfo(c.ChannelId, c.Network, c.Symbol, c.Asset, c.Phase, Units(c.DepositedAtomic, c.Decimals)!, Units(c.ChargedAtomic, c.Decimals)!, Units(c.RemainingAtomic, c.Decimals)!, Units(c.SessionChargedAtomic, c.Decimals)!, Units(c.HighestSignedAtomic, c.Decimals)!, c.Note, c.PoolIndex,
            Units(c.ClaimedAtomic, c.Decimals), c.ClaimedSeenAt is { } seen ? Iso(seen) : null);

    private static IReadOnlyList<ChannelInfo> ToInfos(SessionSnapshot s) => [.. s.AllChannels.Select(c => ToInfo(c)!)];

    private static string? Units(string? atomic, int decimals) =>
        atomic is null ? null : AtomicAmount.Format(atomic, decimals);

    internal static IReadOnlyList<AmountInfo> Totals(IReadOnlyList<AssetTotal> totals) =>
        [.. totals.Select(t => new AmountInfo(Units(t.AmountAtomic, t.Decimals)!, t.AmountAtomic, t.Symbol, t.Asset, t.Network))];

    internal static string ModeName(ScopeMode mode) => mode == ScopeMode.Exact ? "exact" : "prefix";

    internal static string ReuseName(ReuseMode reuse) => reuse switch
    {
        ReuseMode.SignInWithX => "sign-in-with-x",
        ReuseMode.PayPerCall => "pay-per-call",
        ReuseMode.Free => "free",
        _ => "unknown",
    };

    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    [LoggerMessage(701, LogLevel.Warning, "Session {SessionId}: a served call's outcome note (reuse mode, resource) could not be recorded; the call is counted and answered")]
    private static partial void LogOutcomeNotRecorded(ILogger logger, Guid sessionId, Exception exception);
}
