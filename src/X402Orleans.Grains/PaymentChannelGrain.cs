using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Grains;

/// <summary>
/// One batch-settlement channel of the silo's wallet (see <see cref="IPaymentChannelGrain"/>). Non-reentrant; every turn that signs
/// persists the signed voucher (and any deposit) before it returns, so the highest ceiling ever signed survives any crash.
/// <para>
/// Budgets: a deposit is reserved against the wallet's daily budget (today's <see cref="WalletBudgetGrain"/>) before it is signed;
/// each accepted charge is committed out of the deposits' reservations, oldest first (<see cref="IWalletBudgetGrain.CommitUpTo"/>,
/// cumulative, so a retried commit counts nothing twice); the rest stays reserved until the refund is confirmed. A charge therefore
/// counts on the day of the deposit it is paid from.
/// </para>
/// <para>
/// The crash rule. A persisted request in flight may or may not have reached the server. While its lease runs (the requirement's
/// <c>maxTimeoutSeconds</c> + 15 s) the channel answers <see cref="ChannelRefusal.Busy"/>; after it (or on
/// <see cref="ChannelRequestFailure.Unanswered"/>) its charge is unknown: somewhere in [0, its maximum]. The next voucher is then
/// signed on the last charged total we know (ceiling = known charged + max), never on a guess: the official server accepts only
/// ceiling = its charged total + the price, so a guess upwards would only widen what it may claim. If the server did charge, it
/// answers with a corrective 402 whose voucher we signed (so its charged total ≤ our highest ceiling); <see cref="AdoptCorrection"/>
/// adopts that and the retry signs (adopted + max). Both ceilings are ≤ highest signed + one request's maximum, which
/// <see cref="VoucherCeiling.CheckSignable"/> enforces on every signature. A re-signed ceiling equal to one signed before is the same
/// voucher, byte for byte (RFC 6979), so it adds no exposure; a lower one adds none either.
/// </para>
/// </summary>
public sealed partial class PaymentChannelGrain(
    [PersistentState("channel", StorageNames.Sessions)] IPersistentState<PaymentChannelState> state,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock) : Grain, IPaymentChannelGrain
{
    /// <summary>How long a request in flight holds the channel beyond its requirement's <c>maxTimeoutSeconds</c>.</summary>
    public static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(15);

    private PaymentChannelState S => state.State;

    private string Key => this.GetPrimaryKeyString();

    private IPaymentSigner? Signer => ServiceProvider.GetService<IPaymentSigner>();

    /// <inheritdoc />
    public async Task<ChannelPayment> PrepareRequest(ChannelRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (refusal, ready) = await BeginSigningAsync(request.AgentId, request.ChallengeJson, request.RequirementJson, request.PoolIndex);
        if (refusal is not null)
        {
            return refusal;
        }

        var (signer, challenge, requirement, config) = ready!;

        if (!AtomicAmount.TryParseAtomic(request.MaxAmountAtomic, out var maxAmount) || requirement!.Amount > maxAmount)
        {
            return Refuse(ChannelRefusal.ExceedsMaxAmount, $"the request costs up to {requirement!.Amount}, more than the maximum {request.MaxAmountAtomic}");
        }

        var requestMax = requirement.Amount;
        var charged = AtomicAmount.Parse(S.ChargedAtomic);
        var ceiling = VoucherCeiling.Next(charged, requestMax);
        if (VoucherCeiling.CheckSignable(ceiling, AtomicAmount.Parse(S.HighestSignedAtomic), requestMax) is not CeilingVerdict.Allowed and var verdict)
        {
            return Refuse(ChannelRefusal.CeilingNotSignable, $"a voucher of {ceiling} is not signable ({verdict}): the highest signed is {S.HighestSignedAtomic} and one request may add {requestMax}");
        }

        var now = clock.GetUtcNow();
        var record = new ChannelRequestRecord
        {
            RequestId = Guid.NewGuid(),
            AgentId = request.AgentId,
            SessionId = request.SessionId,
            ChargedBeforeAtomic = AtomicAmount.ToText(charged),
            MaxAtomic = AtomicAmount.ToText(requestMax),
            CeilingAtomic = AtomicAmount.ToText(ceiling),
            LeaseUntil = now + TimeSpan.FromSeconds(requirement.MaxTimeoutSeconds) + LeaseMargin,
        };

        // A deposit when the balance does not cover the ceiling, or when the channel has none of ours to pay from yet.
        var needed = DepositSizing.Needed(AtomicAmount.Parse(S.BalanceAtomic), ceiling);
        ChannelDepositRecord? deposit = null;
        PaymentPayload payload;
        if (needed.Sign > 0 || !S.Deposits.Any(d => d.Status is not ChannelDepositStatus.NotMade))
        {
            BigInteger? cap = AtomicAmount.TryParseAtomic(request.DepositCapAtomic, out var c) ? c : DepositSizing.LimitFromSpendCap(maxAmount);
            var size = DepositSizing.Compute(requestMax, BigInteger.Max(needed, requestMax), requirement.Extra, cap);
            if (!size.Succeeded)
            {
                return Refuse(ChannelRefusal.DepositTooLarge, size.Reason);
            }

            deposit = new ChannelDepositRecord { Id = Guid.NewGuid(), AmountAtomic = AtomicAmount.ToText(size.Amount), BudgetKey = WalletBudgetGrain.KeyFor(signer.Address, now), SignedAt = now };
            var budget = GrainFactory.GetGrain<IWalletBudgetGrain>(deposit.BudgetKey);
            var decision = await budget.Reserve(new BudgetRequest(
                deposit.Id, request.AgentId, $"{requirement.Network}/{requirement.Asset.ToLowerInvariant()}", request.Symbol, request.Decimals, deposit.AmountAtomic, null, null));
            if (!decision.Approved)
            {
                return Refuse(ChannelRefusal.BudgetExceeded, $"the channel needs a deposit of {deposit.AmountAtomic}: {decision.Message}");
            }

            try
            {
                payload = await SignDepositAsync(challenge!, requirement, config!, size.Amount, ceiling, signer);
            }
            catch (Exception ex) when (ex is X402ProtocolException or OperationCanceledException)
            {
                // Permit2 deposit: Permit2 may not move it and no signature can change that, or its allowance was not read in time.
                await budget.Release(deposit.Id);
                return Refuse(ChannelRefusal.Permit2AllowanceRequired, ex is X402ProtocolException
                    ? $"could not sign the deposit: {ex.Message}"
                    : "could not sign the deposit: Permit2's allowance could not be read from the chain in time; nothing was signed");
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
            {
                await budget.Release(deposit.Id);
                return Refuse(ChannelRefusal.SigningFailed, $"could not sign the deposit: {ex.Message}");
            }

            record.Kind = ChannelPayloadKind.Deposit;
            record.DepositId = deposit.Id;
        }
        else
        {
            try
            {
                payload = await BatchSettlementPayloads.CreateVoucherAsync(challenge!, requirement, config!, ceiling, signer);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
            {
                return Refuse(ChannelRefusal.SigningFailed, $"could not sign the voucher: {ex.Message}");
            }

            record.Kind = ChannelPayloadKind.Voucher;
        }

        record.VoucherSignature = payload.Payload["voucher"]?["signature"]?.GetValue<string>() ?? string.Empty;
        record.HeaderName = payload.HeaderName;
        record.HeaderValue = payload.EncodeHeader();
        if (string.IsNullOrEmpty(S.ChannelId))
        {
            S.Network = requirement.Network;
            S.ChannelId = config!.ComputeId(requirement.Network);
            S.ConfigJson = config.ToJson().ToJsonString();
        }

        S.InFlight = record;
        S.Phase = ChannelPhase.Open;
        S.AgentId = request.AgentId;
        S.Symbol = request.Symbol;
        S.Decimals = request.Decimals;
        S.HighestSignedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.HighestSignedAtomic), ceiling));
        if (deposit is not null)
        {
            S.Deposits.Add(deposit);
        }

        // Recorded before the signed payload leaves the silo; should the write fail, nothing is returned (the caller sees the error)
        // and the deposit's reservation is released (the signed deposit never left: it cannot be made).
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // The stored record is the truth: this activation's unsaved voucher never left, so it is dropped with the activation.
            DeactivateOnIdle();
            if (deposit is not null)
            {
                await GrainFactory.GetGrain<IWalletBudgetGrain>(deposit.BudgetKey).Release(deposit.Id);
            }

            throw;
        }
        return new ChannelPayment(
            true, ChannelRefusal.None, string.Empty, record.RequestId, record.Kind, record.HeaderName, record.HeaderValue, record.CeilingAtomic, record.MaxAtomic,
            deposit?.AmountAtomic ?? "0", record.ChargedBeforeAtomic, record.LeaseUntil);
    }

    /// <inheritdoc />
    public async Task<ChannelCharge> CompleteRequest(Guid requestId, string paymentResponseHeader)
    {
        if (S.LastCharge is { } last && last.RequestId == requestId)
        {
            return last;
        }

        if (S.InFlight is not { } flight || flight.RequestId != requestId)
        {
            return new ChannelCharge(false, "this request is not in flight on the channel", requestId, "0", S.ChargedAtomic, false, S.Phase);
        }

        var before = AtomicAmount.Parse(flight.ChargedBeforeAtomic);
        var deposit = S.Deposits.FirstOrDefault(d => d.Id == flight.DepositId);
        ChargeCheck check;
        bool settled;
        var readable = BatchSettlementReceipt.TryDecodeHeader(paymentResponseHeader, out var receipt, out var why);
        if (!readable)
        {
            // An answer we cannot read is not a charge we can check: stop, as for any failed check.
            settled = true;
            check = new ChargeCheck(ChargeVerdict.Malformed, BigInteger.Zero, before, $"the server's receipt is unreadable: {why}");
        }
        else
        {
            settled = receipt!.Success;
            check = receipt.Check(before, AtomicAmount.Parse(flight.MaxAtomic));
            if (receipt.ChannelState is { } channel && (channel.ChannelId is null || string.Equals(channel.ChannelId, S.ChannelId, StringComparison.OrdinalIgnoreCase)))
            {
                S.BalanceAtomic = AtomicAmount.ToText(channel.Balance);
                S.ClaimedAtomic = AtomicAmount.ToText(channel.TotalClaimed);
            }
            else if (settled && deposit is not null)
            {
                S.BalanceAtomic = AtomicAmount.ToText(AtomicAmount.Parse(S.BalanceAtomic) + AtomicAmount.Parse(deposit.AmountAtomic));
            }
        }

        if (deposit is not null)
        {
            deposit.Status = !readable ? ChannelDepositStatus.Unknown : settled ? ChannelDepositStatus.Made : ChannelDepositStatus.NotMade;
            if (deposit.Status == ChannelDepositStatus.NotMade)
            {
                deposit.Closed = true;
                await GrainFactory.GetGrain<IWalletBudgetGrain>(deposit.BudgetKey).Release(deposit.Id);
            }
        }

        S.InFlight = null;
        ChannelCharge answer;
        if (!settled)
        {
            answer = new ChannelCharge(false, "the server did not settle the payment: nothing was charged", requestId, "0", S.ChargedAtomic, false, S.Phase);
        }
        else if (!check.IsAccepted)
        {
            // Stop signing. The server holds this request's voucher, so it may claim up to its ceiling: that worst case is committed.
            S.Phase = ChannelPhase.Stopped;
            S.StopReason = check.Reason;
            S.BudgetChargedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.BudgetChargedAtomic), AtomicAmount.Parse(flight.CeilingAtomic)));
            answer = new ChannelCharge(false, $"the channel is stopped: {check.Reason}", requestId, AtomicAmount.ToText(check.Charged), S.ChargedAtomic, deposit is not null, S.Phase);
        }
        else
        {
            S.ChargedAtomic = AtomicAmount.ToText(check.ChargedTotal);
            S.BudgetChargedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.BudgetChargedAtomic), check.ChargedTotal));
            S.ChargeUnknown = false;
            S.Unanswered = null; // the server's total was ours: the unanswered request was charged nothing
            S.Requests++;
            if (flight.Kind == ChannelPayloadKind.Refund)
            {
                S.Phase = ChannelPhase.Refunded;
            }

            answer = new ChannelCharge(true, string.Empty, requestId, AtomicAmount.ToText(check.Charged), S.ChargedAtomic, deposit is not null, S.Phase);
        }

        S.LastCharge = answer;
        await SyncBudgetsAsync(releaseRest: S.Phase == ChannelPhase.Refunded);
        await state.WriteStateAsync();
        return answer;
    }

    /// <inheritdoc />
    public async Task<ChannelView> FailRequest(Guid requestId, ChannelRequestFailure failure)
    {
        if (S.InFlight is { } flight && flight.RequestId == requestId)
        {
            await EndInFlightAsync(failure);
            await state.WriteStateAsync();
            await ResolveRefundAsync();
        }

        return View();
    }

    /// <inheritdoc />
    public async Task<ChannelCorrection> AdoptCorrection(Guid requestId, string challengeJson)
    {
        if (S.InFlight is not { } flight || flight.RequestId != requestId)
        {
            return new ChannelCorrection(false, "not_in_flight", "this request is not in flight on the channel", S.ChargedAtomic);
        }

        if (!PaymentRequired.TryParseBody(Encoding.UTF8.GetBytes(challengeJson ?? string.Empty), out var required, out var why)
            || !CorrectivePaymentRequired.TryRead(required!, out var corrective)
            || !ChannelConfig.TryRead(JsonNode.Parse(S.ConfigJson) as JsonObject, out var config, out why))
        {
            return new ChannelCorrection(false, "unreadable", string.IsNullOrEmpty(why) ? "the 402 is not a corrective batch-settlement 402" : why, S.ChargedAtomic);
        }

        // The 402 answers the request: it was not settled, so it charged nothing and its deposit was not made.
        await EndInFlightAsync(ChannelRequestFailure.Rejected);
        var check = corrective!.Requirements.Network == S.Network
            ? corrective.Check(config!)
            : new CorrectiveCheck(CorrectiveVerdict.NotOurVoucher, BigInteger.Zero, BigInteger.Zero, "the corrective 402 is for another network");
        var verdict = Snake(check.Verdict);
        if (check.Verdict != CorrectiveVerdict.Adopt)
        {
            await state.WriteStateAsync();
            return new ChannelCorrection(false, verdict, check.Reason, S.ChargedAtomic);
        }

        // Backed by a voucher we signed, so ≤ our highest ceiling: the next ceiling (adopted + max) stays within one request of it.
        // The difference is what the request that went unanswered was charged (there is at most one: see Unanswered).
        var earlier = S.Unanswered;
        var earlierCharge = earlier is null ? (BigInteger?)null : BigInteger.Clamp(check.ChargedTotal - AtomicAmount.Parse(S.ChargedAtomic), BigInteger.Zero, AtomicAmount.Parse(earlier.MaxAtomic));
        S.Unanswered = null;
        S.ChargedAtomic = AtomicAmount.ToText(check.ChargedTotal);
        S.ChargeUnknown = false;
        if (corrective.ChannelState is { } channel)
        {
            S.BalanceAtomic = AtomicAmount.ToText(channel.Balance);
            S.ClaimedAtomic = AtomicAmount.ToText(channel.TotalClaimed);
        }

        S.BudgetChargedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.BudgetChargedAtomic), check.ChargedTotal));
        await SyncBudgetsAsync(releaseRest: false);
        await state.WriteStateAsync();
        return new ChannelCorrection(true, verdict, string.Empty, S.ChargedAtomic, earlier?.SessionId, earlierCharge is { } c ? AtomicAmount.ToText(c) : null);
    }

    /// <inheritdoc />
    public async Task<ChannelPayment> RequestRefund(ChannelRefundRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (refusal, ready) = await BeginSigningAsync(request.AgentId, request.ChallengeJson, request.RequirementJson, request.PoolIndex);
        if (refusal is not null)
        {
            return refusal;
        }

        var (signer, challenge, requirement, config) = ready!;

        var others = LiveMembers().Where(m => m.SessionId != request.SessionId).ToList();
        if (others.Count > 0)
        {
            return Refuse(ChannelRefusal.InUse, $"{others.Count} other live session(s) pay through this channel: no refund while they may still use it (the last one to end asks for it)");
        }

        var charged = AtomicAmount.Parse(S.ChargedAtomic);
        if (AtomicAmount.Parse(S.BalanceAtomic) <= charged)
        {
            return S.Phase == ChannelPhase.Refunded
                ? Refuse(ChannelRefusal.AlreadyRefunded, $"the channel was refunded already (balance {S.BalanceAtomic}, all charged: {S.ChargedAtomic})")
                : Refuse(ChannelRefusal.NothingToRefund, $"the channel's balance {S.BalanceAtomic} is all charged ({S.ChargedAtomic}): nothing to refund");
        }

        PaymentPayload payload;
        try
        {
            payload = await BatchSettlementPayloads.CreateRefundAsync(challenge!, requirement!, config!, charged, signer);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
        {
            return Refuse(ChannelRefusal.SigningFailed, $"could not sign the refund: {ex.Message}");
        }

        var record = new ChannelRequestRecord
        {
            RequestId = Guid.NewGuid(),
            Kind = ChannelPayloadKind.Refund,
            AgentId = request.AgentId,
            SessionId = request.SessionId,
            ChargedBeforeAtomic = AtomicAmount.ToText(charged),
            MaxAtomic = "0",
            CeilingAtomic = AtomicAmount.ToText(VoucherCeiling.Refund(charged)),
            VoucherSignature = payload.Payload["voucher"]?["signature"]?.GetValue<string>() ?? string.Empty,
            LeaseUntil = clock.GetUtcNow() + TimeSpan.FromSeconds(requirement!.MaxTimeoutSeconds) + LeaseMargin,
            HeaderName = payload.HeaderName,
            HeaderValue = payload.EncodeHeader(),
        };
        S.InFlight = record;
        S.RefundsSigned++;
        await state.WriteStateAsync();
        return new ChannelPayment(true, ChannelRefusal.None, string.Empty, record.RequestId, record.Kind, record.HeaderName, record.HeaderValue, record.CeilingAtomic, "0", "0", record.ChargedBeforeAtomic, record.LeaseUntil);
    }

    /// <inheritdoc />
    public Task<ChannelView> GetStatus() => Task.FromResult(View());

    /// <inheritdoc />
    public async Task Join(ChannelMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var now = clock.GetUtcNow();
        var known = S.Members.FirstOrDefault(m => m.SessionId == member.SessionId);
        if (known == member && S.Members.All(m => m.ExpiresAt > now))
        {
            return;
        }

        S.Members.RemoveAll(m => m.SessionId == member.SessionId || m.ExpiresAt <= now);
        S.Members.Add(member);
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChannelMember>> Leave(Guid sessionId)
    {
        var now = clock.GetUtcNow();
        if (S.Members.RemoveAll(m => m.SessionId == sessionId || m.ExpiresAt <= now) > 0)
        {
            await state.WriteStateAsync();
        }

        return [.. S.Members];
    }

    private IEnumerable<ChannelMember> LiveMembers()
    {
        var now = clock.GetUtcNow();
        return S.Members.Where(m => m.ExpiresAt > now);
    }

    /// <summary>Refuses when the channel is closed or busy; ends a request in flight whose lease has run out as unanswered.</summary>
    private async Task<ChannelPayment?> GateAsync()
    {
        if (WithdrawGate() is { } withdrawing)
        {
            return withdrawing;
        }

        if (S.Phase == ChannelPhase.Stopped)
        {
            return Refuse(ChannelRefusal.Closed, $"the channel is stopped: {S.StopReason}");
        }

        if (S.InFlight is { } flight)
        {
            if (flight.LeaseUntil > clock.GetUtcNow())
            {
                return new ChannelPayment(false, ChannelRefusal.Busy, $"channel busy: request {flight.RequestId} is in flight until {flight.LeaseUntil.UtcDateTime:O}; retry once it completes", flight.RequestId, LeaseUntil: flight.LeaseUntil);
            }

            await EndInFlightAsync(ChannelRequestFailure.Unanswered);
            await state.WriteStateAsync();
        }

        return null;
    }

    private async Task EndInFlightAsync(ChannelRequestFailure failure)
    {
        var flight = S.InFlight!;
        S.InFlight = null;
        if (failure == ChannelRequestFailure.Unanswered)
        {
            // The charge is unknown; a deposit may have been made: it stays reserved, the balance waits for the server's word.
            S.ChargeUnknown |= flight.Kind != ChannelPayloadKind.Refund;
            if (flight.Kind != ChannelPayloadKind.Refund)
            {
                S.Unanswered = flight;
            }
            else
            {
                S.RefundUnknown = true;
            }

            if (S.Deposits.FirstOrDefault(d => d.Id == flight.DepositId) is { } unknown)
            {
                unknown.Status = ChannelDepositStatus.Unknown;
            }

            return;
        }

        if (S.Deposits.FirstOrDefault(d => d.Id == flight.DepositId) is { } notMade)
        {
            notMade.Status = ChannelDepositStatus.NotMade;
            notMade.Closed = true;
            await GrainFactory.GetGrain<IWalletBudgetGrain>(notMade.BudgetKey).Release(notMade.Id);
        }
    }

    /// <summary>
    /// A refund went unanswered (a crash, a timeout): the server may have made it — then the server forgets the channel, and a voucher
    /// signed on our old numbers would only be refused. With a node for the network the chain tells (one bounded read, recovery
    /// only): nothing left in the channel (balance ≤ totalClaimed) → it was made: the channel is refunded, its charged total is at
    /// least what was claimed, and the rest of the deposits' reservations is released; something left → it was not, and a refund may
    /// be asked for again. Without a node it stays unknown.
    /// </summary>
    private async Task ResolveRefundAsync()
    {
        if (!S.RefundUnknown || ServiceProvider.GetService<X402Orleans.Grains.Payments.IChannelStateReader>() is not { } reader)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(Payments.PaymentRules.ChainReadTimeout);
        var chain = await reader.ReadChannelAsync(S.Network, S.ChannelId, timeout.Token);
        if (!chain.Known)
        {
            return;
        }

        S.RefundUnknown = false;
        S.BalanceAtomic = AtomicAmount.ToText(chain.Balance);
        S.ClaimedAtomic = AtomicAmount.ToText(chain.TotalClaimed);
        NoteClaimed(chain.TotalClaimed);
        if (chain.Balance <= chain.TotalClaimed)
        {
            S.ChargedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.ChargedAtomic), chain.TotalClaimed));
            S.BudgetChargedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.BudgetChargedAtomic), chain.TotalClaimed));
            S.Phase = ChannelPhase.Refunded;
            await SyncBudgetsAsync(releaseRest: true);
        }

        await state.WriteStateAsync();
        await FlushLogAsync();
    }

    /// <summary>
    /// Commits <see cref="PaymentChannelState.BudgetChargedAtomic"/> out of the deposits' reservations, oldest first (the newest takes
    /// any excess); with <paramref name="releaseRest"/> (refund confirmed) closes every reservation, releasing what was not spent.
    /// </summary>
    private async Task SyncBudgetsAsync(bool releaseRest)
    {
        var open = S.Deposits.Where(d => d.Status is not ChannelDepositStatus.NotMade && !d.Closed).ToList();
        var left = AtomicAmount.Parse(S.BudgetChargedAtomic) - S.Deposits.Where(d => d.Closed && d.Status is not ChannelDepositStatus.NotMade).Aggregate(BigInteger.Zero, (sum, d) => sum + AtomicAmount.Parse(d.CommittedAtomic));
        for (var i = 0; i < open.Count; i++)
        {
            var deposit = open[i];
            var share = i == open.Count - 1 ? BigInteger.Max(left, BigInteger.Zero) : BigInteger.Clamp(left, BigInteger.Zero, AtomicAmount.Parse(deposit.AmountAtomic));
            left -= share;
            var budget = GrainFactory.GetGrain<IWalletBudgetGrain>(deposit.BudgetKey);
            if (share > AtomicAmount.Parse(deposit.CommittedAtomic))
            {
                await budget.CommitUpTo(deposit.Id, AtomicAmount.ToText(share));
                deposit.CommittedAtomic = AtomicAmount.ToText(share);
            }

            if (releaseRest)
            {
                await budget.Release(deposit.Id);
                deposit.Closed = true;
            }
        }
    }

    /// <summary>
    /// What every signing operation starts with: the channel is open (or reopens), the silo has a wallet, and the 402 and the
    /// requirement are readable and belong to this channel. Either a refusal or what to sign with.
    /// </summary>
    private async Task<(ChannelPayment? Refusal, SigningInput? Ready)> BeginSigningAsync(string agentId, string challengeJson, string requirementJson, int poolIndex = 0)
    {
        if (await GateAsync() is { } closed)
        {
            return (closed, null);
        }

        if (Signer is not { } signer)
        {
            return (Refuse(ChannelRefusal.SigningFailed, "no wallet is configured on the silo, so nothing can be signed"), null);
        }

        await ResolveRefundAsync();

        return TryRead(agentId, poolIndex, challengeJson, requirementJson, signer, out var challenge, out var requirement, out var config, out var why)
            ? (null, new SigningInput(signer, challenge!, requirement!, config!))
            : (Refuse(ChannelRefusal.InvalidRequest, why), null);
    }

    /// <summary>Whether <paramref name="salt"/> is one of <paramref name="agentId"/>'s channel salts (any pool index a pool may have).</summary>
    public static bool IsAgentSalt(string salt, string agentId)
    {
        for (var i = 0; i < Payments.PaymentRules.MaxChannelPoolSize; i++)
        {
            if (string.Equals(salt, AgentSalt(agentId, i), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The salt of <paramref name="agentId"/>'s channel number <paramref name="index"/> with a payee: every agent has its own
    /// channels with a payee (same wallet), so a channel's deposits are reserved on, and its charges committed to, one agent's daily
    /// budget, and one agent's sessions never keep another's refund waiting. An agent's parallel calls to one payee take a pool of
    /// channels (index 0 … pool size − 1, one request in flight each); index 0 is the salt every agent's channel had before the pool.
    /// </summary>
    public static string AgentSalt(string agentId, int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return BatchSettlementScheme.SaltFor(index == 0 ? "x402orleans/agent/" + agentId : $"x402orleans/agent/{agentId}/channel/{index.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>Reads the challenge and the requirement, derives the channel's configuration and checks it is this grain's channel.</summary>
    private bool TryRead(string agentId, int poolIndex, string challengeJson, string requirementJson, IPaymentSigner signer, out PaymentRequired? challenge, out PaymentRequirements? requirement, out ChannelConfig? config, out string why)
    {
        requirement = null;
        config = null;
        if (!PaymentRequired.TryParseBody(Encoding.UTF8.GetBytes(challengeJson ?? string.Empty), out challenge, out why))
        {
            why = $"the 402 is unreadable: {why}";
            return false;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(requirementJson ?? string.Empty);
        }
        catch (System.Text.Json.JsonException ex)
        {
            why = $"the requirement is not JSON: {ex.Message}";
            return false;
        }

        if (!PaymentRequirements.Parse(node, challenge!.X402Version, out requirement, out why))
        {
            return false;
        }

        if (!string.Equals(requirement!.Scheme, BatchSettlementScheme.Name, StringComparison.Ordinal))
        {
            why = $"scheme '{requirement.Scheme}' is not {BatchSettlementScheme.Name}";
            return false;
        }

        if (!ChannelConfig.TryFromRequirements(requirement, signer.Address, out config, out why, salt: AgentSalt(agentId, poolIndex)))
        {
            return false;
        }

        var channelId = config!.ComputeId(requirement.Network);
        if (!string.Equals(ChannelKeys.For(requirement.Network, channelId), Key, StringComparison.Ordinal))
        {
            why = $"the requirement is for channel {ChannelKeys.For(requirement.Network, channelId)}, not {Key}";
            return false;
        }

        if (!string.IsNullOrEmpty(S.ConfigJson) && !JsonNode.DeepEquals(JsonNode.Parse(S.ConfigJson), config.ToJson()))
        {
            why = "the requirement's channel configuration differs from the one this channel was opened with";
            return false;
        }

        return true;
    }

    private ChannelView View()
    {
        var balance = AtomicAmount.Parse(S.BalanceAtomic);
        var charged = AtomicAmount.Parse(S.ChargedAtomic);
        BigInteger Sum(ChannelDepositStatus status) => S.Deposits.Where(d => d.Status == status).Aggregate(BigInteger.Zero, (sum, d) => sum + AtomicAmount.Parse(d.AmountAtomic));
        return new ChannelView(
            Key, S.ChannelId, S.Phase, S.StopReason, AtomicAmount.ToText(Sum(ChannelDepositStatus.Made)), AtomicAmount.ToText(Sum(ChannelDepositStatus.Signed) + Sum(ChannelDepositStatus.Unknown)),
            S.BalanceAtomic, S.ChargedAtomic, AtomicAmount.ToText(BigInteger.Max(BigInteger.Zero, balance - charged)), S.HighestSignedAtomic,
            S.InFlight?.RequestId, S.InFlight?.LeaseUntil, S.ChargeUnknown, S.Requests, S.ClaimSeenAt is null ? null : S.ClaimSeenAtomic, S.ClaimSeenAt);
    }

    private static ChannelPayment Refuse(ChannelRefusal refusal, string message) => new(false, refusal, message);

    private static string Snake(CorrectiveVerdict verdict) => verdict switch
    {
        CorrectiveVerdict.Adopt => "adopt",
        CorrectiveVerdict.NeedsChainState => "needs_chain_state",
        CorrectiveVerdict.NotOurVoucher => "not_our_voucher",
        _ => "inconsistent",
    };

    /// <summary>The signer and the parsed request a signing operation works on.</summary>
    private sealed record SigningInput(IPaymentSigner Signer, PaymentRequired Challenge, PaymentRequirements Requirement, ChannelConfig Config);
}
