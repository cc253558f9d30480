using Orleans.Runtime;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;
using X402Orleans.Payments;
using X402Orleans.Payments.Scope;

namespace X402Orleans.Grains;

/// <summary>
/// One x402 session. Non-reentrant: each turn checks the clock, authorises or records, persists and returns; the HTTP request runs
/// in the gateway between turns (a reused call costs one turn, <see cref="BeginCall"/>). Expires by its stored lifecycle reminder
/// (or, where no reminder service runs, a grain timer), and by the clock check on every call, so a late tick never lets an
/// expired session be used; ends on request. Either way it persists and deactivates.
/// </summary>
public sealed partial class SessionGrain(
    [PersistentState("session", StorageNames.Sessions)] IPersistentState<SessionState> state,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock,
    ILogger<SessionGrain> logger) : Grain, ISessionGrain
{
    private IGrainTimer? _expiryTimer;
    private EndpointScope? _scope;

    private SessionState S => state.State;

    private Guid Id => this.GetPrimaryKey();

    private bool IsLive => state.RecordExists && S.Status is SessionStatus.Starting or SessionStatus.Active;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        UpgradeState();
        // Only live sessions get a timer, and only where no stored reminder covers expiry (with reminders the lifecycle
        // reminder is due at expires_at, and every call checks the clock, so a per-activation timer would only cost memory).
        // A session already past expiry is marked expired once and never re-armed, so an activation caused by a late call
        // cannot loop expire → deactivate → activate.
        if (IsLive)
        {
            if (clock.GetUtcNow() >= S.ExpiresAt)
            {
                await ExpireAsync();
            }
            else if (!HasReminders)
            {
                ArmExpiryTimer();
            }
        }

        if (state.RecordExists && S.Pending.Any(p => p.HeaderValue is not null))
        {
            // Signed payments left pending by an earlier activation (a crash, a failover): resolve what can be resolved now.
            await ResolvePendingAsync(onlyStart: false);
        }

        await base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<SessionResult> Open(OpenSessionCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (state.RecordExists)
        {
            return S.AgentId == command.AgentId
                ? SessionResult.Fail(SessionErrorCode.AlreadyExists, $"Session already exists: {Id}", Snapshot())
                : NotFound();
        }

        if (await StartRefusalAsync(command.AgentId) is { } operatorRefusal)
        {
            DeactivateOnIdle();
            return SessionResult.Fail(operatorRefusal.Error, operatorRefusal.Message);
        }

        var now = clock.GetUtcNow();
        state.State = new SessionState
        {
            AgentId = command.AgentId,
            Endpoint = command.Endpoint,
            Scope = command.Scope,
            Label = command.Label,
            Status = SessionStatus.Starting,
            CreatedAt = now,
            ExpiresAt = now + command.Ttl,
            MaxPayment = command.MaxPayment,
            AllowRepeatPayments = command.AllowRepeatPayments,
            MaxTotal = command.MaxTotal,
            IdempotencyKey = command.IdempotencyKey,
            Fingerprint = command.Fingerprint,
            AttemptId = command.AttemptId,
            LeaseUntil = now + Lease(command),
        };
        await BeginLifeAsync(command.AttemptId, replacing: null);
        Log.Opened(logger, Id, command.AgentId, command.Endpoint);
        return SessionResult.Ok(Snapshot());
    }

    /// <inheritdoc />
    public async Task<PaymentDecision> AuthorizePayment(string agentId, PaymentQuote quote)
    {
        ArgumentNullException.ThrowIfNull(quote);
        var refusal = await CheckUsableAsync(agentId, allowStarting: true);
        if (refusal is not null)
        {
            return new PaymentDecision(false, Guid.Empty, refusal.Error, refusal.Message);
        }

        if (await PaymentRefusalAsync(agentId) is { } operatorRefusal)
        {
            return Refuse(operatorRefusal.Error, operatorRefusal.Message);
        }

        var (decision, pending) = await ReserveAsync(quote);
        if (pending is not null)
        {
            await state.WriteStateAsync();
        }

        return decision;
    }

    /// <inheritdoc />
    public async Task RecordPayment(string agentId, PaymentOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (!state.RecordExists || S.AgentId != agentId)
        {
            return;
        }

        var pending = S.Pending.FirstOrDefault(p => p.ReservationId == outcome.ReservationId);
        if (pending is null)
        {
            return;
        }

        _issuedHere?.Remove(pending.ReservationId);
        if (outcome.Settled && outcome.Receipt is not null)
        {
            await SettleAsync(pending, outcome.Receipt, outcome.AlreadySettled ? "settled by an earlier attempt (the server reports the authorization as used)" : "settled");
            await state.WriteStateAsync();
            return;
        }

        if (outcome.Unanswered && pending.HeaderValue is not null && (pending.ForStart || Rules.RpcEndpoints.ContainsKey(pending.Quote.Network)))
        {
            // No answer: kept pending, to be resolved by a retry of the start (resend) or by the chain, never paid again.
            pending.Unanswered = true;
            await state.WriteStateAsync();
            ArmPendingTimer();
            return;
        }

        S.Pending.Remove(pending);
        var budget = GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey);
        string outcomeName;
        if (outcome.MayHaveSettled)
        {
            // No answer after the signed payment went out: it may have settled, so it stays counted against the budgets.
            await budget.Commit(pending.ReservationId);
            outcomeName = "unknown";
        }
        else
        {
            await budget.Release(pending.ReservationId);
            outcomeName = "refused";
        }

        await state.WriteStateAsync();
        await Audit(pending.Quote, outcomeName, outcome.Receipt?.Transaction, outcome.FailureReason);
    }

    private async Task<PaymentDecision> RefuseAsync(PaymentQuote quote, string message)
    {
        await Audit(quote, "not_authorized", null, message);
        return new PaymentDecision(false, Guid.Empty, SessionErrorCode.PaymentRefused, message);
    }

    // For upto, the amount is what was charged (when known; else the maximum) and the maximum is recorded beside it.
    private Task Audit(PaymentQuote quote, string outcome, string? transaction, string? reason, string? chargedAtomic = null) =>
        GrainFactory.GetGrain<IAgentGrain>(S.AgentId).RecordAttempt(new PaymentAttempt(
            clock.GetUtcNow(), Id, quote.ResourceUrl, quote.Network, quote.Asset, quote.Symbol, quote.Decimals, chargedAtomic ?? quote.AmountAtomic, quote.PayTo, outcome, transaction, reason,
            quote.IsUpto || quote.IsBatchSettlement ? quote.AmountAtomic : null));

    private static bool SameAsset(string network, string asset, PaymentQuote quote) =>
        network == quote.Network && string.Equals(asset, quote.Asset, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public async Task<SessionResult> Activate(string agentId, ReuseMode reuse, string? resourceUrl)
    {
        var refusal = await CheckUsableAsync(agentId, allowStarting: true);
        if (refusal is not null)
        {
            return refusal;
        }

        if (S.Status != SessionStatus.Starting)
        {
            return SessionResult.Fail(SessionErrorCode.InvalidState, $"Session {Id} is already active.", Snapshot());
        }

        S.ResourceUrl = resourceUrl;
        MarkActive(reuse, resourceUrl, 1);
        await state.WriteStateAsync();
        return SessionResult.Ok(Snapshot());
    }

    /// <inheritdoc />
    public async Task<SessionResult> Abandon(string agentId, string reason)
    {
        if (!state.RecordExists || S.AgentId != agentId)
        {
            return NotFound();
        }

        if (S.Status != SessionStatus.Starting)
        {
            return SessionResult.Fail(SessionErrorCode.InvalidState, $"Session {Id} is not starting.", Snapshot());
        }

        if (StartPayment is { } pending)
        {
            // A signed payment of this start may have settled: the start stays open for a retry to resolve it.
            S.LeaseUntil = null;
            await state.WriteStateAsync();
            return SessionResult.Fail(
                SessionErrorCode.InvalidState,
                $"the payment's outcome is unknown until {Iso(pending.ValidBefore ?? clock.GetUtcNow())} (it can settle at most once); retry x402_session_start with the same idempotency_key to resolve it — nothing will be paid twice",
                Snapshot());
        }

        S.Status = SessionStatus.Failed;
        S.FailureReason = reason;
        await CloseAsync();
        return SessionResult.Ok(Snapshot());
    }

    /// <inheritdoc />
    public async Task<CallTicket> AuthorizeCall(string agentId, string? url)
    {
        var refusal = await CheckUsableAsync(agentId, allowStarting: false) ?? await CallRefusalResultAsync();
        var ticket = refusal is null ? TicketFor(url) : Refused(refusal, url);
        NoteCall(agentId, url, ticket);
        return ticket;
    }

    /// <inheritdoc />
    public async Task<CallTicket> BeginCall(string agentId, string? url, Guid callId, CancellationToken cancellationToken = default)
    {
        // A resent call (same id, after a failover) was authorised and counted already: answer it again, even if the session
        // closed meanwhile, since the count the agent will see includes it. Stopped calls are refused even then: nothing goes out.
        if (state.RecordExists && await CallRefusalResultAsync() is { } stopped)
        {
            var refused = Refused(stopped, url);
            NoteCall(agentId, url, refused);
            return refused;
        }

        if (state.RecordExists && S.AgentId == agentId && IsRecordedCall(callId))
        {
            return TicketFor(url);
        }

        var refusal = await CheckUsableAsync(agentId, allowStarting: false) ?? await CallRefusalResultAsync();
        if (refusal is not null)
        {
            var refused = Refused(refusal, url);
            NoteCall(agentId, url, refused);
            return refused;
        }

        var ticket = TicketFor(url);
        NoteCall(agentId, url, ticket);
        if (!ticket.Allowed)
        {
            return ticket;
        }

        RememberCall(callId);
        S.CallCount++;
        S.LastUsedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        return ticket with { CallCount = S.CallCount };
    }

    /// <inheritdoc />
    public async Task<SessionResult> CompleteCall(string agentId, CallOutcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (!state.RecordExists || S.AgentId != agentId)
        {
            return NotFound();
        }

        var counted = IsRecordedCall(outcome.CallId);
        var changed = false;
        if (outcome.Delivered)
        {
            // A call authorised before expiry still counts when its response arrives after it: the server served it.
            // A call counted by BeginCall, or a resent outcome (same call id, after a failover), is not counted twice.
            if (!counted)
            {
                RememberCall(outcome.CallId);
                S.CallCount++;
                S.LastUsedAt = clock.GetUtcNow();
                changed = true;
            }

            if (outcome.ObservedReuse != ReuseMode.Unknown && S.Status == SessionStatus.Active && S.Reuse != outcome.ObservedReuse)
            {
                S.Reuse = outcome.ObservedReuse;
                changed = true;
            }

            if (S.ResourceUrl is null && outcome.ResourceUrl is not null)
            {
                S.ResourceUrl = outcome.ResourceUrl;
                changed = true;
            }
        }
        else if (counted)
        {
            // BeginCall counted it, but the server's answer never reached the agent: take it back, once.
            ForgetCall(outcome.CallId);
            S.CallCount--;
            changed = true;
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        return SessionResult.Ok(Snapshot());
    }

    private CallTicket TicketFor(string? url)
    {
        var scope = ParsedScope();
        if (scope is null)
        {
            return Ticket(SessionErrorCode.InvalidState, "The session's endpoint is no longer valid.", url ?? string.Empty);
        }

        if (string.IsNullOrEmpty(url))
        {
            return Ticket(SessionErrorCode.None, string.Empty, S.Endpoint);
        }

        if (!EndpointScope.TryNormalize(url, out var target, out var why))
        {
            return Ticket(SessionErrorCode.OutOfScope, $"url is invalid: {why}", url);
        }

        return scope.Covers(target!)
            ? Ticket(SessionErrorCode.None, string.Empty, target!.AbsoluteUri)
            : Ticket(SessionErrorCode.OutOfScope, $"url {target!.AbsoluteUri} is outside the session's scope ({S.Scope} {S.Endpoint})", url);
    }

    // "Not found" (another agent's, a failed or a missing session) must look the same whatever exists: no endpoint, scope or
    // payment policy of the session in the ticket.
    private CallTicket Refused(SessionResult refusal, string? url) =>
        refusal.Error == SessionErrorCode.NotFound
            ? new CallTicket(false, SessionErrorCode.NotFound, refusal.Message, url ?? string.Empty, ReuseMode.Unknown, null, string.Empty, false, string.Empty, string.Empty)
            : Ticket(refusal.Error, refusal.Message, url ?? string.Empty);

    // The endpoint and scope never change after Open, so they are parsed once per activation.
    private EndpointScope? ParsedScope()
    {
        if (_scope is null && EndpointScope.TryParseMode(S.Scope, out var mode) && EndpointScope.TryCreate(S.Endpoint, mode, out var scope, out _))
        {
            _scope = scope;
        }

        return _scope;
    }

    /// <inheritdoc />
    public async Task<SessionResult> GetStatus(string agentId, CancellationToken cancellationToken = default)
    {
        if (!state.RecordExists || S.AgentId != agentId)
        {
            return NotFound();
        }

        await ExpireIfDueAsync();
        await RefreshChannelAsync();
        return SessionResult.Ok(Snapshot());
    }

    /// <inheritdoc />
    public async Task<SessionResult> End(string agentId)
    {
        if (!state.RecordExists || S.AgentId != agentId || S.Status == SessionStatus.Failed)
        {
            return NotFound();
        }

        await ExpireIfDueAsync();
        switch (S.Status)
        {
            case SessionStatus.Expired:
                return SessionResult.Ok(Snapshot(), "already expired");
            case SessionStatus.Ended:
                return SessionResult.Ok(Snapshot(), "already ended");
        }

        var outcome = await EndNowAsync();
        await RefreshChannelAsync();
        return SessionResult.Ok(Snapshot(), outcome);
    }

    private async Task<SessionResult?> CheckUsableAsync(string agentId, bool allowStarting)
    {
        if (!state.RecordExists || S.AgentId != agentId || S.Status == SessionStatus.Failed)
        {
            return NotFound();
        }

        await ExpireIfDueAsync();
        return S.Status switch
        {
            SessionStatus.Active => null,
            SessionStatus.Starting when allowStarting => null,
            SessionStatus.Starting => SessionResult.Fail(SessionErrorCode.InvalidState, $"Session {Id} is still starting.", Snapshot()),
            SessionStatus.Expired => SessionResult.Fail(SessionErrorCode.Expired, $"Session {Id} expired at {Iso(S.ExpiresAt)}; start a new one with x402_session_start.", Snapshot()),
            _ => SessionResult.Fail(SessionErrorCode.Ended, $"Session {Id} was ended; start a new one with x402_session_start.", Snapshot()),
        };
    }

    private async Task ExpireIfDueAsync()
    {
        if (IsLive && clock.GetUtcNow() >= S.ExpiresAt)
        {
            await ExpireAsync();
        }
    }

    private async Task ExpireAsync()
    {
        S.Status = S.Status == SessionStatus.Starting ? SessionStatus.Failed : SessionStatus.Expired;
        S.FailureReason ??= S.Status == SessionStatus.Failed ? "expired before its first request completed" : null;
        if (S.Status == SessionStatus.Failed && StartPayment is { } pending)
        {
            // Its start payment is unresolved: a retry must report it, never start afresh and pay again.
            S.PaymentUnknown = true;
            S.FailureReason = $"the session expired while its start payment (nonce {pending.Nonce}) was unresolved; its state is unknown until {Iso(pending.ValidBefore ?? S.ExpiresAt)} and it stays counted against the budgets";
        }

        await CloseAsync(S.ExpiresAt);
        Log.Expired(logger, Id, S.CallCount);
    }

    private async Task CloseAsync(DateTimeOffset? at = null)
    {
        await LeaveChannelAsync();
        S.EndedAt = at ?? clock.GetUtcNow();
        await state.WriteStateAsync();
        X402Diagnostics.SessionClosed(S.Status, S.CallCount > 0);
        _expiryTimer?.Dispose();
        _expiryTimer = null;
        await GrainFactory.GetGrain<IAgentGrain>(S.AgentId).Unregister(Id, S.IndexPage ?? -1);
        if (S.Status == SessionStatus.Failed)
        {
            // A start that failed frees a claimed idempotency key record (sessions opened by a key claim), so a retry with the
            // key starts afresh; a start through BeginStart restarts in this same grain instead.
            await ReleaseIdempotencyKeyAsync();
        }

        // The reminder it moves was due at expiry (far off when the session ends early, ticking now when it expired).
        await ScheduleLifecycleReminderAsync(replacing: S.ExpiresAt);
        DeactivateOnIdle();
    }

    // A timer may tick a little before ExpiresAt by this clock (drift, coarse timers): then it re-arms for the rest instead of
    // leaving a live session without a timer.
    private async Task OnExpiryTimerAsync()
    {
        await ExpireIfDueAsync();
        if (IsLive)
        {
            ArmExpiryTimer();
        }
    }

    private void ArmExpiryTimer()
    {
        _expiryTimer?.Dispose();
        var due = S.ExpiresAt - clock.GetUtcNow();
        _expiryTimer = this.RegisterGrainTimer(
            static (self, _) => self.OnExpiryTimerAsync(),
            this,
            new GrainTimerCreationOptions(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan) { KeepAlive = false, Interleave = false });
    }

    private CallTicket Ticket(SessionErrorCode error, string message, string url) =>
        new(error == SessionErrorCode.None, error, message, url, S.Reuse, S.ResourceUrl, S.MaxPayment, S.AllowRepeatPayments, S.Endpoint, S.Scope, S.CallCount);

    private SessionResult NotFound() => SessionResult.Fail(SessionErrorCode.NotFound, $"Session not found: {Id}");

    private SessionSnapshot Snapshot() =>
        new(Id, S.AgentId, S.Endpoint, S.Scope, S.Label, S.Status, S.CreatedAt, S.ExpiresAt, S.EndedAt, S.CallCount, S.LastUsedAt, S.Reuse, [.. S.Payments], S.MaxPayment, S.ResourceUrl, [.. S.PaidTotals], S.Channels.Count > 0 ? ChannelSnapshot(S.Channels[0]) : null, ChannelSnapshots());

    /// <summary>How many receipts a session keeps in its state: the first and the newest.</summary>
    internal const int MaxReceiptsKept = 20;

    private void AddReceipt(PaymentReceipt receipt)
    {
        var amount = AtomicAmount.Parse(receipt.AmountAtomic);
        var index = S.PaidTotals.FindIndex(t => t.Is(receipt.Network, receipt.Asset));
        if (index < 0)
        {
            S.PaidTotals.Add(new AssetTotal(receipt.Network, receipt.Asset, receipt.Symbol, receipt.Decimals, "0", 0).Add(amount));
        }
        else
        {
            S.PaidTotals[index] = S.PaidTotals[index].Add(amount);
        }

        S.Payments.Add(receipt);
        if (S.Payments.Count > MaxReceiptsKept)
        {
            S.Payments.RemoveAt(1);
        }
    }

    // Records written before PaidTotals existed kept every receipt: their totals are computed once from them.
    private void UpgradeState()
    {
        if (state.RecordExists && S.Channel is { } single)
        {
            // The layout before channel pools: one channel per session, always the agent's channel 0.
            S.Channels.Insert(0, single);
            S.Channel = null;
        }

        if (!state.RecordExists || S.PaidTotals.Count > 0 || S.Payments.Count == 0)
        {
            return;
        }

        var receipts = S.Payments;
        S.Payments = [];
        foreach (var receipt in receipts)
        {
            AddReceipt(receipt);
        }
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Session {SessionId} opened by agent {AgentId} for {Endpoint}")]
        public static partial void Opened(ILogger logger, Guid sessionId, string agentId, string endpoint);

        [LoggerMessage(2, LogLevel.Information, "Session {SessionId} paid {Amount} of {Asset} on {Network} (transaction {Transaction})")]
        public static partial void Paid(ILogger logger, Guid sessionId, string amount, string asset, string network, string transaction);

        [LoggerMessage(3, LogLevel.Information, "Session {SessionId} expired after {CallCount} calls")]
        public static partial void Expired(ILogger logger, Guid sessionId, long callCount);

        [LoggerMessage(4, LogLevel.Information, "Session {SessionId} ended after {CallCount} calls")]
        public static partial void Ended(ILogger logger, Guid sessionId, long callCount);
    }
}
