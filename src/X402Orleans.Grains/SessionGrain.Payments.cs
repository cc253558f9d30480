using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Scope;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Grains;

/// <summary>
/// The start as a durable saga, and signing behind the budget. A start's session id is derived from (agent, idempotency key), so
/// every retry reaches this grain; the attempt that holds the start's lease drives it: first request → <see cref="PreparePayment"/>
/// (select, reserve, sign, record as pending — all before the signed payment leaves the silo) → the gateway sends it →
/// <see cref="ISessionGrain.RecordPayment"/> → <see cref="ISessionGrain.Activate"/>. A retry (or a re-activation) that finds a
/// signed payment pending resolves it instead of paying again: by the chain when an RPC endpoint is configured for its network
/// (the token's <c>authorizationState</c>), else by resending the same signed payload while it is valid (it can settle only
/// once), else, once its <c>validBefore</c> has passed with no known outcome, by failing the start with "payment state unknown"
/// and keeping the payment counted against the budgets.
/// </summary>
public sealed partial class SessionGrain
{
    /// <summary>How long an attempt holds a start beyond its request timeout.</summary>
    internal static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(15);

    /// <summary>A pending payment this close to its validBefore is not resent (it could expire in flight).</summary>
    internal static readonly TimeSpan ResendMargin = TimeSpan.FromSeconds(5);

    // Payments signed by this activation whose gateway may still be sending them: never resolved behind its back.
    // This and the other per-activation collections are allocated on first use: most live activations hold only their start attempt.
    private HashSet<Guid>? _issuedHere;

    // Start attempts that took the lease in this activation. A lease taken before this activation began was held by a process
    // that may be gone (a crash takes the activation with it in the one-process mode): it does not block a retry. Money stays
    // safe without it: only the holder of the current lease may sign, and a start signs at most one payment.
    // Usually one entry: a list, not a set (a one-entry set costs about three times the memory).
    private List<Guid>? _attemptsHere;
    private IGrainTimer? _pendingTimer;

    private void MarkIssuedHere(Guid reservationId) => (_issuedHere ??= []).Add(reservationId);

    private void NoteAttemptHere(Guid attemptId)
    {
        _attemptsHere ??= new List<Guid>(1);
        if (!_attemptsHere.Contains(attemptId))
        {
            _attemptsHere.Add(attemptId);
        }
    }

    private PaymentRules Rules => ServiceProvider.GetService<PaymentRules>() ?? PaymentRules.Default;

    private IPaymentSigner? Signer => ServiceProvider.GetService<IPaymentSigner>();

    private PendingPayment? StartPayment => S.Pending.FirstOrDefault(p => p.ForStart);

    /// <inheritdoc />
    public async Task<StartStep> BeginStart(OpenSessionCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var now = clock.GetUtcNow();
        if (await StartRefusalAsync(command.AgentId) is { } operatorRefusal)
        {
            if (!state.RecordExists)
            {
                DeactivateOnIdle();
            }

            return new StartStep(StartStepKind.Refused, operatorRefusal.Message);
        }

        if (!state.RecordExists)
        {
            var opened = await Open(command);
            return opened.Succeeded ? new StartStep(StartStepKind.Proceed, string.Empty, opened.Session) : new StartStep(StartStepKind.Refused, opened.Message);
        }

        if (S.AgentId != command.AgentId)
        {
            return new StartStep(StartStepKind.Refused, NotFound().Message);
        }

        if (S.Fingerprint is not null && command.Fingerprint is not null && S.Fingerprint != command.Fingerprint)
        {
            return new StartStep(StartStepKind.Refused, "idempotency_key was already used with different arguments; use a new key for a different session");
        }

        await ResolvePendingAsync(onlyStart: true);
        switch (S.Status)
        {
            case SessionStatus.Active or SessionStatus.Expired or SessionStatus.Ended:
                return new StartStep(StartStepKind.Done, string.Empty, Snapshot());
            case SessionStatus.Failed when S.PaymentUnknown:
                return new StartStep(StartStepKind.Refused, S.FailureReason ?? "the start failed with a payment whose state is unknown", Snapshot());
            case SessionStatus.Failed:
                // Failed with nothing paid: the same key starts afresh in the same grain.
                await RestartAsync(command);
                return new StartStep(StartStepKind.Proceed, string.Empty, Snapshot());
        }

        if (S.Payments.Count > 0 && StartPayment is null)
        {
            // The start's payment settled, but the attempt died before activating: activate now, never pay again.
            MarkActive(S.Reuse == ReuseMode.Unknown ? ReuseMode.PayPerCall : S.Reuse, S.ResourceUrl, 0);
            await state.WriteStateAsync();
            return new StartStep(StartStepKind.Done, string.Empty, Snapshot());
        }

        if (S.LeaseUntil is { } until && until > now && S.AttemptId != command.AttemptId && _attemptsHere?.Contains(S.AttemptId) == true)
        {
            return new StartStep(StartStepKind.Busy, $"a start with this idempotency_key is in progress until {Iso(until)}; retry after that with the same key", Snapshot(), RetryAfter: until);
        }

        var resend = StartPayment is { HeaderValue: not null } pending && pending.ValidBefore > now + ResendMargin ? pending : null;
        if (resend is not null && await PaymentRefusalAsync(command.AgentId) is { } paymentRefusal)
        {
            // Resending the signed payment could still settle it: not while payments are paused (it resolves by its own timer).
            return new StartStep(StartStepKind.Refused, paymentRefusal.Message, Snapshot());
        }

        S.AttemptId = command.AttemptId;
        S.LeaseUntil = now + Lease(command);
        NoteAttemptHere(command.AttemptId);
        await state.WriteStateAsync();
        return resend is not null
            ? new StartStep(StartStepKind.Resend, string.Empty, Snapshot(), ToSigned(resend), resend.ReservationId)
            : new StartStep(StartStepKind.Proceed, string.Empty, Snapshot());
    }

    /// <inheritdoc />
    public async Task<PaymentDecision> PreparePayment(string agentId, PaymentChallenge challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        var refusal = await CheckUsableAsync(agentId, allowStarting: true);
        if (refusal is not null)
        {
            return Refuse(refusal.Error, refusal.Message);
        }

        // Before anything is reserved or signed.
        if (await PaymentRefusalAsync(agentId) is { } operatorRefusal)
        {
            return Refuse(operatorRefusal.Error, operatorRefusal.Message);
        }

        var now = clock.GetUtcNow();
        if (S.Status == SessionStatus.Starting)
        {
            if (S.AttemptId != challenge.AttemptId || S.LeaseUntil is not { } until || until <= now)
            {
                return Refuse(SessionErrorCode.InvalidState, "another attempt now holds this start; retry x402_session_start with the same idempotency_key");
            }

            if (StartPayment is not null)
            {
                return Refuse(SessionErrorCode.PaymentRefused, "a payment for this start is already pending; retry x402_session_start with the same idempotency_key to resolve it");
            }
        }

        var signer = Signer;
        if (signer is null)
        {
            return Refuse(SessionErrorCode.PaymentRefused, "no wallet is configured on the silo (X402__Wallet__…), so nothing can be paid");
        }

        if (!EndpointScope.TryNormalize(challenge.RequestUrl, out var requestUrl, out _) || ParsedScope() is not { } scope || !scope.Covers(requestUrl!))
        {
            return Refuse(SessionErrorCode.OutOfScope, "the 402 to pay is not for a URL within the session's scope");
        }

        if (!TryReadChallenge(challenge, out var required, out var why))
        {
            return Refuse(SessionErrorCode.PaymentRefused, $"the server answered 402 without readable payment requirements: {why}");
        }

        if (required!.Accepts.Count == 0 && required.Unreadable.Count == 0)
        {
            return Refuse(SessionErrorCode.PaymentRefused, $"the server requires sign-in-with-x access and offers no payment option{(string.IsNullOrEmpty(required.Error) ? string.Empty : $" ({required.Error})")}");
        }

        var selection = RequirementSelector.Select(required, Rules.Policy.WithMaxPayment(S.MaxPayment));
        if (!selection.Succeeded)
        {
            var first = required.Accepts.FirstOrDefault();
            var message = $"cannot pay {requestUrl!.AbsoluteUri}: {selection.Reason}";
            await GrainFactory.GetGrain<IAgentGrain>(S.AgentId).RecordAttempt(new PaymentAttempt(
                now, Id, required.Resource?.Url ?? requestUrl.AbsoluteUri, first?.Network ?? string.Empty, first?.Asset ?? string.Empty,
                string.Empty, 0, first?.Amount.ToString(CultureInfo.InvariantCulture) ?? "0", first?.PayTo ?? string.Empty, "not_selected", null, selection.Reason));
            return Refuse(SessionErrorCode.PaymentRefused, message);
        }

        var requirement = selection.Requirement!;
        var asset = selection.Asset!;
        if (requirement.Scheme == BatchSettlementScheme.Name)
        {
            return await PrepareChannelPaymentAsync(challenge, required, requirement, asset, signer, requestUrl!, corrected: false);
        }

        var upto = requirement.Scheme == UptoEvmScheme.Name;
        var quote = new PaymentQuote(
            requirement.Network, requirement.Asset, asset.Symbol, asset.Decimals, requirement.Amount.ToString(CultureInfo.InvariantCulture), requirement.PayTo,
            required.Resource?.Url ?? requirement.ResourceUrl ?? requestUrl!.AbsoluteUri, signer.Address, Scheme: upto ? PaymentQuote.Upto : null);
        var (decision, pending) = await ReserveAsync(quote);
        if (pending is null)
        {
            return decision;
        }

        PaymentPayload payload;
        try
        {
            payload = upto
                ? await SignUptoAsync(required, requirement, signer)
                : await ExactEvmScheme.CreatePaymentAsync(required, requirement, signer, clock);
        }
        catch (Exception ex) when (ex is X402ProtocolException or OperationCanceledException)
        {
            // Upto: Permit2 lacks an allowance no signature can give (the message names the one-time approval), or the chain
            // could not be read in time. Nothing was signed; the reservation is dropped.
            S.Pending.Remove(pending);
            await GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey).Release(pending.ReservationId);
            var reason = ex is X402ProtocolException ? ex.Message : "the Permit2 allowance could not be read from the chain in time; nothing was signed";
            await Audit(quote, "not_authorized", null, reason);
            return Refuse(SessionErrorCode.PaymentRefused, $"cannot pay {requestUrl!.AbsoluteUri} with upto: {reason}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            S.Pending.Remove(pending);
            await GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey).Release(pending.ReservationId);
            await Audit(quote, "refused", null, "could not sign the payment");
            return Refuse(SessionErrorCode.PaymentRefused, $"could not sign the payment: {ex.Message}");
        }

        pending.HeaderName = payload.HeaderName;
        pending.HeaderValue = payload.EncodeHeader();
        if (upto)
        {
            // The Permit2 nonce (a decimal uint256) and deadline: the payload can settle, once for a non-zero amount, until then.
            _ = UptoPermit2Authorization.TryRead(payload.Payload["permit2Authorization"] as JsonObject, out var permit, out _);
            pending.Nonce = permit?.Nonce.ToString(CultureInfo.InvariantCulture);
            pending.ValidBefore = permit is null ? now : DateTimeOffset.FromUnixTimeSeconds(permit.Deadline);
        }
        else
        {
            _ = TransferAuthorization.TryRead(payload.Payload["authorization"] as JsonObject, out var authorization, out _);
            pending.Nonce = authorization?.Nonce;
            pending.ValidBefore = authorization is null ? now : DateTimeOffset.FromUnixTimeSeconds(authorization.ValidBefore);
        }

        pending.ForStart = S.Status == SessionStatus.Starting;
        pending.SignInWithXOffered = SiwxChallenge.TryRead(required.Extensions, out _, out _);

        // Recorded before the signed payment leaves the silo.
        await state.WriteStateAsync();
        MarkIssuedHere(pending.ReservationId);
        ArmPendingTimer();
        return decision with { Payment = ToSigned(pending) };
    }

    /// <summary>
    /// Signs an upto payment. When the silo has a node for the network, the Permit2 allowance is read first (one bounded
    /// <c>eth_call</c>, two when a permit is needed): a short allowance is covered by a signed EIP-2612 permit when the 402 offers
    /// <c>eip2612GasSponsoring</c>, else nothing is signed and the refusal names the one-time approval. Without a node the plain
    /// permit is sent and a missing allowance is the server's to report (HTTP 412 <c>permit2_allowance_required</c>).
    /// </summary>
    private async Task<PaymentPayload> SignUptoAsync(PaymentRequired required, PaymentRequirements requirement, IPaymentSigner signer)
    {
        var tokens = Rules.RpcEndpoints.ContainsKey(requirement.Network)
            ? ServiceProvider.GetService<IPermit2TokenReader>()
            : null;
        using var timeout = new CancellationTokenSource(PaymentRules.ChainReadTimeout);
        return await UptoEvmScheme.CreatePaymentAsync(required, requirement, signer, clock, new UptoPaymentOptions { Tokens = tokens }, tokens is null ? CancellationToken.None : timeout.Token);
    }

    /// <inheritdoc />
    public async Task<SignInProof> SignIn(string agentId, SignInRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var refusal = await CheckUsableAsync(agentId, allowStarting: true);
        if (refusal is not null)
        {
            return new SignInProof(false, refusal.Message);
        }

        if (!EndpointScope.TryNormalize(request.ResponseUrl, out var url, out _) || ParsedScope() is not { } scope || !scope.Covers(url!))
        {
            return new SignInProof(false, "the sign-in is not for a URL within the session's scope");
        }

        if (Signer is not { } signer)
        {
            return new SignInProof(false, "no wallet is configured on the silo");
        }

        try
        {
            var json = JsonNode.Parse(request.ExtensionJson) as JsonObject;
            var extensions = new JsonObject { [SiwxChallenge.ExtensionKey] = json };
            if (!SiwxChallenge.TryRead(extensions, out var challenge, out var why))
            {
                return new SignInProof(false, why);
            }

            var proof = await SiwxSigner.SignAsync(challenge!, signer, url!);
            return new SignInProof(true, string.Empty, proof.HeaderValue, proof.Address, proof.ChainId, proof.Nonce, proof.IssuedAt, proof.ExpiresAt);
        }
        catch (Exception ex) when (ex is X402ProtocolException or System.Text.Json.JsonException)
        {
            return new SignInProof(false, ex.Message);
        }
    }

    /// <summary>
    /// Checks a quote against the session (repeat payments, max_payment, max_total) and the daily budgets the budget grain
    /// holds, and records it as pending (not yet written). Shared by <see cref="PreparePayment"/> and <see cref="AuthorizePayment"/>.
    /// </summary>
    private async Task<(PaymentDecision Decision, PendingPayment? Pending)> ReserveAsync(PaymentQuote quote)
    {
        if (S.Status == SessionStatus.Active && !S.AllowRepeatPayments)
        {
            return (Refuse(SessionErrorCode.PaymentRefused, "The server asked for another payment and this session does not allow repeat payments (start it with allow_repeat_payments)."), null);
        }

        if (!AtomicAmount.TryParseAtomic(quote.AmountAtomic, out var amount))
        {
            return (Refuse(SessionErrorCode.PaymentRefused, "The payment amount is not an atomic integer."), null);
        }

        if (!AtomicAmount.TryParseDecimal(S.MaxPayment, quote.Decimals, out var max, out var why))
        {
            return (Refuse(SessionErrorCode.PaymentRefused, $"The session's max_payment is not usable for {quote.Symbol}: {why}"), null);
        }

        if (amount > max)
        {
            return (await RefuseAsync(quote, $"price {AtomicAmount.Format(amount, quote.Decimals)} {quote.Symbol} exceeds max_payment {AtomicAmount.Format(max, quote.Decimals)} {quote.Symbol}"), null);
        }

        if (MaxTotalRefusal(quote, amount) is { } overTotal)
        {
            return (await RefuseAsync(quote, overTotal), null);
        }

        var now = clock.GetUtcNow();
        var reservationId = Guid.NewGuid();
        var budgetKey = WalletBudgetGrain.KeyFor(quote.Wallet, now);
        var budget = await GrainFactory.GetGrain<IWalletBudgetGrain>(budgetKey).Reserve(new BudgetRequest(
            reservationId, S.AgentId, $"{quote.Network}/{quote.Asset.ToLowerInvariant()}", quote.Symbol, quote.Decimals, quote.AmountAtomic, null, null));
        if (!budget.Approved)
        {
            return (await RefuseAsync(quote, budget.Message), null);
        }

        var pending = new PendingPayment { ReservationId = reservationId, Quote = quote, AuthorizedAt = now, BudgetKey = budgetKey };
        S.Pending.Add(pending);
        return (new PaymentDecision(true, reservationId, SessionErrorCode.None, string.Empty), pending);
    }

    /// <summary>
    /// Why a payment of <paramref name="amount"/> (for upto and batch-settlement: its maximum) would exceed the session's max_total,
    /// counting what was paid and what is pending at its maximum; null when it fits (or there is no max_total).
    /// </summary>
    private string? MaxTotalRefusal(PaymentQuote quote, System.Numerics.BigInteger amount)
    {
        if (S.MaxTotal is null || !AtomicAmount.TryParseDecimal(S.MaxTotal, quote.Decimals, out var maxTotal, out _))
        {
            return null;
        }

        var spent = S.PaidTotals.Where(t => t.Is(quote.Network, quote.Asset)).Aggregate(System.Numerics.BigInteger.Zero, (sum, t) => sum + AtomicAmount.Parse(t.AmountAtomic))
            + S.Pending.Where(p => !p.Refund && SameAsset(p.Quote.Network, p.Quote.Asset, quote)).Aggregate(System.Numerics.BigInteger.Zero, (sum, p) => sum + AtomicAmount.Parse(p.Quote.AmountAtomic));
        return spent + amount > maxTotal
            ? $"the payment of {AtomicAmount.Format(amount, quote.Decimals)} {quote.Symbol} would exceed the session's max_total {AtomicAmount.Format(maxTotal, quote.Decimals)} {quote.Symbol} (already spent {AtomicAmount.Format(spent, quote.Decimals)})"
            : null;
    }

    /// <summary>
    /// Resolves signed payments that no live attempt of this activation is sending: settled on chain → recorded with its
    /// receipt (a start's session becomes active); provably unused past validBefore → released; unknown past validBefore →
    /// kept counted against the budgets and reported unknown (a start fails with "payment state unknown"). Anything else waits
    /// (a timer looks again at its validBefore).
    /// </summary>
    private async Task ResolvePendingAsync(bool onlyStart)
    {
        var now = clock.GetUtcNow();
        var changed = false;
        foreach (var pending in S.Pending.Where(p => p.HeaderValue is not null && _issuedHere?.Contains(p.ReservationId) != true && (!onlyStart || p.ForStart)).ToList())
        {
            var expired = pending.ValidBefore is not { } before || now >= before;
            if (pending.ChannelKey is not null)
            {
                if (!expired)
                {
                    continue;
                }

                if (await ExpireChannelRequestAsync(pending))
                {
                    return;
                }

                changed = true;
                continue;
            }

            if (pending.ChargedZero)
            {
                // Settled for 0 (already recorded): its maximum stays reserved until the deadline, when the permit is void.
                if (!expired)
                {
                    continue;
                }

                await ReleaseChargedZeroAsync(pending);
                changed = true;
                continue;
            }

            var chain = await ReadChainAsync(pending);
            if (chain.Known && chain.Used)
            {
                // Upto: the nonce bitmap tells that it settled; the settling transfer, when found, for how much (else the maximum counts).
                var how = !pending.Quote.IsUpto ? "settled (found on chain)"
                    : chain.AmountAtomic is null ? "settled (found on chain; the settling transfer was not found, so its maximum is counted)"
                    : "settled (found on chain with the amount charged)";
                await SettleAsync(pending, pending.Quote.ToReceipt(pending.Quote.Wallet, chain.Transaction ?? string.Empty, now, false, chain.AmountAtomic), how);
                if (pending.ForStart && S.Status == SessionStatus.Starting)
                {
                    MarkActive(pending.SignInWithXOffered ? ReuseMode.SignInWithX : ReuseMode.PayPerCall, pending.Quote.ResourceUrl, 0);
                }
            }
            else if (chain.Known && expired)
            {
                S.Pending.Remove(pending);
                await GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey).Release(pending.ReservationId);
                await Audit(pending.Quote, "refused", null, "the signed authorization expired unused (checked on chain)");
            }
            else if (expired)
            {
                S.Pending.Remove(pending);
                await GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey).Commit(pending.ReservationId);
                var reason = $"payment state unknown: a signed payment of {AtomicAmount.Format(pending.Quote.AmountAtomic, pending.Quote.Decimals)} {pending.Quote.Symbol} (nonce {pending.Nonce}) expired at {Iso(pending.ValidBefore ?? now)} without a known outcome; it may have settled, at most once, and stays counted against the budgets (set X402__Payments__Rpc__0__Network/Url to resolve such payments from the chain)";
                await Audit(pending.Quote, "unknown", null, reason);
                if (pending.ForStart && S.Status == SessionStatus.Starting)
                {
                    S.Status = SessionStatus.Failed;
                    S.PaymentUnknown = true;
                    S.FailureReason = reason;
                    await CloseAsync();
                    return;
                }
            }
            else
            {
                continue;
            }

            changed = true;
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        ArmPendingTimer();
    }

    private async Task<AuthorizationOnChain> ReadChainAsync(PendingPayment pending)
    {
        if (pending.Nonce is null || !Rules.RpcEndpoints.ContainsKey(pending.Quote.Network) || ServiceProvider.GetService<IAuthorizationStateReader>() is not { } reader)
        {
            return AuthorizationOnChain.Unknown;
        }

        // Recovery only (never on a hot path): one bounded read of the operator's own node. Done inside the turn, so the
        // answer cannot be forged by a caller.
        using var timeout = new CancellationTokenSource(PaymentRules.ChainReadTimeout);
        var result = pending.Quote.IsUpto
            ? await reader.ReadPermit2SettlementAsync(pending.Quote.Network, pending.Quote.Asset, pending.Quote.Wallet, pending.Quote.PayTo, pending.Nonce, timeout.Token)
            : await reader.ReadAsync(pending.Quote.Network, pending.Quote.Asset, pending.Quote.Wallet, pending.Nonce, timeout.Token);
        if (!result.Known)
        {
            PaymentLog.ChainUnknown(logger, Id, pending.Quote.Network);
        }

        return result;
    }

    /// <summary>
    /// Records a settled payment and commits it against the budgets. <c>exact</c> commits its amount. <c>upto</c> commits what the
    /// server charged (the receipt's amount, at most the maximum reserved) and releases the rest; a charge of 0 does not consume the
    /// Permit2 nonce, so the payload stays spendable until its deadline: its maximum stays reserved (and counted against max_total)
    /// until then, and is released afterwards (<see cref="ReleaseChargedZeroAsync"/>).
    /// </summary>
    private async Task SettleAsync(PendingPayment pending, PaymentReceipt receipt, string outcome)
    {
        if (pending.ForStart && S.Status == SessionStatus.Starting)
        {
            // What a retry needs to activate the start without its lost first response.
            S.Reuse = pending.SignInWithXOffered ? ReuseMode.SignInWithX : ReuseMode.PayPerCall;
            S.ResourceUrl ??= pending.Quote.ResourceUrl;
        }

        var budget = GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey);
        string? charged = null;
        if (pending.Quote.IsUpto)
        {
            var maximum = AtomicAmount.Parse(pending.Quote.AmountAtomic);
            var amount = AtomicAmount.TryParseAtomic(receipt.AmountAtomic, out var reported) ? System.Numerics.BigInteger.Min(reported, maximum) : maximum;
            charged = amount.ToString(CultureInfo.InvariantCulture);
            receipt = receipt with { AmountAtomic = charged, MaximumAtomic = pending.Quote.AmountAtomic };
            if (amount.IsZero)
            {
                // Kept (no longer the start's payment: never resent) until its deadline.
                pending.ChargedZero = true;
                pending.ForStart = false;
                pending.Unanswered = false;
            }
            else
            {
                S.Pending.Remove(pending);
                await budget.CommitCharged(pending.ReservationId, charged);
            }
        }
        else
        {
            S.Pending.Remove(pending);
            await budget.Commit(pending.ReservationId);
        }

        AddReceipt(receipt);
        await Audit(pending.Quote, "settled", receipt.Transaction, outcome == "settled" ? (pending.ChargedZero ? $"charged 0: the maximum stays reserved until the permit's deadline {Iso(pending.ValidBefore ?? clock.GetUtcNow())}" : null) : outcome, charged);
        Log.Paid(logger, Id, receipt.AmountAtomic, receipt.Asset, receipt.Network, receipt.Transaction);
        if (pending.ChargedZero)
        {
            ArmPendingTimer();
        }
    }

    /// <summary>
    /// Releases the maximum an upto payment charged 0 kept reserved, once its deadline has passed (the permit is void). With a node
    /// for its network, the Permit2 nonce is read first: used means the payload was settled again later for an amount not reported
    /// here, so its maximum is committed instead.
    /// </summary>
    private async Task ReleaseChargedZeroAsync(PendingPayment pending)
    {
        S.Pending.Remove(pending);
        var budget = GrainFactory.GetGrain<IWalletBudgetGrain>(pending.BudgetKey);
        var chain = await ReadChainAsync(pending);
        if (chain.Known && chain.Used)
        {
            if (chain.AmountAtomic is { } charged)
            {
                await budget.CommitCharged(pending.ReservationId, charged);
                await Audit(pending.Quote, "settled", chain.Transaction, "an upto payment charged 0 was settled again before its deadline (found on chain with the amount charged)", charged);
                return;
            }

            await budget.Commit(pending.ReservationId);
            await Audit(pending.Quote, "settled", chain.Transaction, "an upto payment charged 0 was settled again before its deadline (found on chain; its maximum is counted)");
            return;
        }

        await budget.Release(pending.ReservationId);
    }

    private void MarkActive(ReuseMode reuse, string? resourceUrl, long callCount)
    {
        S.Status = SessionStatus.Active;
        S.Reuse = reuse;
        S.ResourceUrl ??= resourceUrl;
        S.CallCount = callCount;
        S.LastUsedAt = clock.GetUtcNow();
        S.LeaseUntil = null;
        X402Diagnostics.SessionActivated(reuse);
    }

    private async Task RestartAsync(OpenSessionCommand command)
    {
        var replacing = LifecycleDue();
        var now = clock.GetUtcNow();
        S.Status = SessionStatus.Starting;
        S.CreatedAt = now;
        S.ExpiresAt = now + command.Ttl;
        S.EndedAt = null;
        S.FailureReason = null;
        S.CallCount = 0;
        S.AttemptId = command.AttemptId;
        S.LeaseUntil = now + Lease(command);
        await BeginLifeAsync(command.AttemptId, replacing);
    }

    /// <summary>
    /// Lists a (re)starting session with its agent, writes it once, and arms its expiry. Listed with the agent first, so the
    /// session's one write also records its index page; should that write fail, the agent lists an id whose status answers
    /// "not found", which listing skips.
    /// </summary>
    private async Task BeginLifeAsync(Guid attemptId, DateTimeOffset? replacing)
    {
        NoteAttemptHere(attemptId);
        S.IndexPage = await GrainFactory.GetGrain<IAgentGrain>(S.AgentId).Register(Id);
        await state.WriteStateAsync();
        if (!HasReminders)
        {
            ArmExpiryTimer();
        }

        await ScheduleLifecycleReminderAsync(replacing);
    }

    private void ArmPendingTimer()
    {
        var next = S.Pending.Where(p => p.ValidBefore is not null).Select(p => p.ValidBefore!.Value).DefaultIfEmpty().Min();

        // A payment charged 0 keeps the grain alive until its deadline, so its reservation is released on time (a later activation
        // would release it too).
        var keepAlive = S.Pending.Any(p => p.ChargedZero);
        _pendingTimer?.Dispose();
        _pendingTimer = null;
        if (next == default)
        {
            return;
        }

        var due = next + TimeSpan.FromSeconds(1) - clock.GetUtcNow();
        _pendingTimer = this.RegisterGrainTimer(
            static (self, _) => self.OnPendingTimerAsync(),
            this,
            new GrainTimerCreationOptions(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan) { KeepAlive = keepAlive, Interleave = false });
    }

    private Task OnPendingTimerAsync()
    {
        // By validBefore every payment this activation issued has been answered or can no longer settle.
        _issuedHere?.RemoveWhere(id => S.Pending.FirstOrDefault(p => p.ReservationId == id) is not { ValidBefore: { } before } || clock.GetUtcNow() >= before);
        return ResolvePendingAsync(onlyStart: false);
    }

    private static bool TryReadChallenge(PaymentChallenge challenge, out PaymentRequired? required, out string why) =>
        challenge.InHeader
            ? PaymentRequired.TryDecodeHeader(challenge.Encoded, out required, out why)
            : PaymentRequired.TryParseBody(System.Text.Encoding.UTF8.GetBytes(challenge.Encoded), out required, out why);

    private static SignedPayment ToSigned(PendingPayment pending) =>
        new(pending.HeaderName!, pending.HeaderValue!, pending.Quote, pending.Nonce ?? string.Empty, pending.ValidBefore ?? default, pending.SignInWithXOffered);

    private static PaymentDecision Refuse(SessionErrorCode error, string message) => new(false, Guid.Empty, error, message);

    private static TimeSpan Lease(OpenSessionCommand command) =>
        (command.AttemptTimeout > TimeSpan.Zero ? command.AttemptTimeout : TimeSpan.FromSeconds(30)) + LeaseMargin;

    private static partial class PaymentLog
    {
        [LoggerMessage(30, LogLevel.Warning, "Session {SessionId}: the chain could not be asked about a pending payment on {Network}")]
        public static partial void ChainUnknown(ILogger logger, Guid sessionId, string network);
    }
}
