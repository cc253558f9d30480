using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;

namespace X402Orleans.Grains;

/// <summary>
/// The payer's unilateral withdraw (<see cref="IChannelWithdrawGrain"/>), kept apart from the voucher path.
/// <para>
/// The amount. <c>finalizeWithdraw</c> pays <c>min(amount, balance − totalClaimed)</c> as they stand at finalisation, and the server
/// may claim any voucher we signed (up to the highest ceiling) until then — that is what the delay is for. So the withdraw asks for
/// everything unclaimed at initiation (balance − totalClaimed on chain): asking for balance − highest ceiling instead would leave the
/// part of the last voucher the server never earned (nor claims) stranded in the channel for a second withdraw. What comes back is
/// between <see cref="ChannelWithdrawRecord.AtLeastAtomic"/> (the server claims every ceiling we signed) and the amount.
/// </para>
/// <para>
/// Exactly once. Each step writes its intent (phase <see cref="ChannelPhase.Withdrawing"/>: no voucher from here on), signs, and
/// writes the transaction (hash, raw bytes, nonce) before it returns; nothing is broadcast from here. While a recorded transaction is
/// unresolved, the same step returns it again (a re-broadcast of the same bytes is the same transaction); only once the caller reports
/// it dropped (its nonce used by another) or reverted is another signed.
/// </para>
/// </summary>
public sealed partial class PaymentChannelGrain : IChannelWithdrawGrain
{
    private const string InitiateStep = "initiate";
    private const string FinalizeStep = "finalize";

    /// <summary>The most gas a withdraw transaction may be given (both calls use well under 100k).</summary>
    private static readonly BigInteger MaxWithdrawGas = 1_000_000;

    /// <inheritdoc />
    public async Task<WithdrawStep> InitiateWithdraw(WithdrawRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Owns(request.AgentId, out var config))
        {
            return WithdrawRefused(WithdrawRefusal.NotFound, "no channel of yours with this key");
        }

        await SeenOnChainAsync(request);

        var withdraw = S.Phase == ChannelPhase.Withdrawing ? S.Withdraw : null;
        if (withdraw is not null && Unresolved(withdraw) is { } recorded)
        {
            return recorded.Step == InitiateStep
                ? Resumed(recorded)
                : WithdrawRefused(WithdrawRefusal.AlreadyDone, $"the withdraw is already being finalized (transaction {recorded.Hash})");
        }

        if (withdraw?.InitiatedAt is { } initiated)
        {
            return WithdrawRefused(WithdrawRefusal.AlreadyDone, $"the withdraw was initiated at {Iso(initiated)}; finalize it from {Iso(initiated + config!.WithdrawDelay)}", initiated + config!.WithdrawDelay);
        }

        if (S.InFlight is { } flight && flight.LeaseUntil > clock.GetUtcNow())
        {
            return WithdrawRefused(WithdrawRefusal.Busy, $"a paid request is in flight on the channel until {flight.LeaseUntil.UtcDateTime:O}; retry once it completes");
        }

        var balance = AtomicAmount.Parse(request.BalanceAtomic);
        var claimed = AtomicAmount.Parse(request.ClaimedAtomic);
        if (withdraw is null)
        {
            var unclaimed = balance - claimed;
            if (request.PendingInitiatedAt == 0 && unclaimed.Sign <= 0)
            {
                return WithdrawRefused(WithdrawRefusal.NothingToWithdraw, $"nothing to withdraw: the channel's balance on chain is {balance}, of which {claimed} is claimed");
            }

            // The intent, durable before anything is signed: from here no voucher is signed on this channel.
            withdraw = new ChannelWithdrawRecord
            {
                AmountAtomic = AtomicAmount.ToText(request.PendingInitiatedAt != 0 ? AtomicAmount.Parse(request.PendingAmountAtomic) : unclaimed),
                AtLeastAtomic = AtomicAmount.ToText(BigInteger.Max(BigInteger.Zero, balance - BigInteger.Max(claimed, AtomicAmount.Parse(S.HighestSignedAtomic)))),
                BalanceAtomic = AtomicAmount.ToText(balance),
                RequestedAt = clock.GetUtcNow(),
                PhaseBefore = S.Phase,
            };
            S.Withdraw = withdraw;
            S.Phase = ChannelPhase.Withdrawing;
            S.BalanceAtomic = AtomicAmount.ToText(balance);
            S.ClaimedAtomic = AtomicAmount.ToText(claimed);
        }

        if (request.PendingInitiatedAt != 0)
        {
            // Already pending on chain (a transaction whose record we lost, or the operator's own): adopt it, send nothing.
            withdraw.InitiatedAt = request.PendingInitiatedAt;
            await state.WriteStateAsync();
            var at = request.PendingInitiatedAt + config!.WithdrawDelay;
            return WithdrawRefused(WithdrawRefusal.AlreadyDone, $"a withdrawal of {request.PendingAmountAtomic} is already pending on chain since {Iso(request.PendingInitiatedAt)}; finalize it from {Iso(at)}", at);
        }

        await state.WriteStateAsync();
        return await SignWithdrawAsync(InitiateStep, WithdrawCalls.Initiate(config!, AtomicAmount.Parse(withdraw.AmountAtomic)), request.Fees);
    }

    /// <inheritdoc />
    public async Task<WithdrawStep> FinalizeWithdraw(WithdrawRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Owns(request.AgentId, out var config))
        {
            return WithdrawRefused(WithdrawRefusal.NotFound, "no channel of yours with this key");
        }

        await SeenOnChainAsync(request);

        if (S.Phase == ChannelPhase.Withdrawn)
        {
            return WithdrawRefused(WithdrawRefusal.AlreadyDone, $"the withdraw is finalized: {S.Withdraw?.ReturnedAtomic ?? "an unknown amount"} came back to the wallet");
        }

        if (S.Phase != ChannelPhase.Withdrawing || S.Withdraw is not { } withdraw)
        {
            return WithdrawRefused(WithdrawRefusal.WrongStep, "no withdraw was initiated on this channel: initiate it first");
        }

        if (Unresolved(withdraw) is { } recorded)
        {
            return recorded.Step == FinalizeStep
                ? Resumed(recorded)
                : WithdrawRefused(WithdrawRefusal.WrongStep, $"the initiate transaction {recorded.Hash} is not resolved yet: call initiate again to resolve it");
        }

        if (request.PendingInitiatedAt != 0)
        {
            withdraw.InitiatedAt = request.PendingInitiatedAt;
        }
        else if (withdraw.InitiatedAt is null)
        {
            return WithdrawRefused(WithdrawRefusal.WrongStep, "the withdraw is recorded but no initiation is mined or pending on chain: call initiate");
        }
        else
        {
            // Initiated, and nothing pending any more: finalized by another sender (anyone may) or cancelled by a cooperative refund.
            await FinishWithdrawAsync(BigInteger.Max(BigInteger.Zero, AtomicAmount.Parse(withdraw.BalanceAtomic) - AtomicAmount.Parse(request.BalanceAtomic)), null);
            return WithdrawRefused(WithdrawRefusal.AlreadyDone, $"no withdrawal is pending on chain any more (finalized by another sender, or cancelled by a refund); the channel's balance is {request.BalanceAtomic}");
        }

        var finalizableAt = withdraw.InitiatedAt.Value + config!.WithdrawDelay;
        if (request.ChainNow < finalizableAt)
        {
            await state.WriteStateAsync();
            return WithdrawRefused(WithdrawRefusal.TooEarly, $"the withdraw delay has not passed: finalize is possible from {Iso(finalizableAt)} (chain time now {Iso(request.ChainNow)}, {finalizableAt - request.ChainNow} s to go)", finalizableAt);
        }

        await state.WriteStateAsync();
        return await SignWithdrawAsync(FinalizeStep, WithdrawCalls.Finalize(config), request.Fees);
    }

    /// <inheritdoc />
    public async Task<WithdrawView> RecordWithdrawOutcome(WithdrawOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (S.Withdraw?.Transactions.FirstOrDefault(t => string.Equals(t.Hash, outcome.TxHash, StringComparison.OrdinalIgnoreCase)) is not { Status: WithdrawTxStatus.Signed } tx
            || outcome.Status == WithdrawTxStatus.Signed)
        {
            // Resolved before (a repeated report): logged then; only what an earlier failure left unlogged is appended.
            await FlushLogAsync();
            return WithdrawViewOf(true);
        }

        tx.Status = outcome.Status;
        tx.Note = outcome.Note;
        if (outcome.Status == WithdrawTxStatus.Mined && tx.Step == InitiateStep)
        {
            S.Withdraw.InitiatedAt = outcome.BlockTimestamp;
            Log("withdraw_initiated", AtomicAmount.Parse(S.Withdraw.AmountAtomic), tx.Hash, $"unilateral withdraw of batch-settlement channel {S.ChannelId} initiated: finalizable from {(FinalizableAt() is { } at ? Iso(at) : "initiation + the withdraw delay")}; at least {S.Withdraw.AtLeastAtomic} comes back (the server may claim its vouchers until then)");
        }

        if (outcome.Status == WithdrawTxStatus.Mined && tx.Step == FinalizeStep)
        {
            await FinishWithdrawAsync(AtomicAmount.TryParseAtomic(outcome.ReturnedAtomic, out var returned) ? returned : BigInteger.Zero, tx.Hash);
            return WithdrawViewOf(true);
        }

        await state.WriteStateAsync();
        await FlushLogAsync();
        return WithdrawViewOf(true);
    }

    /// <inheritdoc />
    public Task<WithdrawView> GetWithdraw(string agentId) => Task.FromResult(WithdrawViewOf(Owns(agentId, out _)));

    /// <summary>While a withdraw is under way no voucher (nor refund voucher) is signed.</summary>
    private ChannelPayment? WithdrawGate() => S.Phase == ChannelPhase.Withdrawing
        ? Refuse(ChannelRefusal.Closed, $"a unilateral withdraw of this channel is under way (asked for at {S.Withdraw?.RequestedAt.UtcDateTime:O}): no voucher is signed until it is finalized")
        : null;

    /// <summary>Signs the step's transaction and records it (hash, raw, nonce) before returning it for broadcast.</summary>
    private async Task<WithdrawStep> SignWithdrawAsync(string step, string callData, WithdrawFees fees)
    {
        if (Signer is not { } signer)
        {
            return WithdrawRefused(WithdrawRefusal.SigningFailed, "no wallet is configured on the silo, so nothing can be signed");
        }

        if (!NetworkNames.TryGetEvmChainId(S.Network, out var chainId)
            || !AtomicAmount.TryParseAtomic(fees.Nonce, out var nonce) || !AtomicAmount.TryParseAtomic(fees.MaxPriorityFeePerGas, out var tip)
            || !AtomicAmount.TryParseAtomic(fees.MaxFeePerGas, out var maxFee) || !AtomicAmount.TryParseAtomic(fees.GasLimit, out var gas)
            || gas.IsZero || gas > MaxWithdrawGas || tip > maxFee)
        {
            return WithdrawRefused(WithdrawRefusal.SigningFailed, $"unusable transaction parameters (nonce {fees.Nonce}, fees {fees.MaxPriorityFeePerGas}/{fees.MaxFeePerGas}, gas {fees.GasLimit}; gas at most {MaxWithdrawGas})");
        }

        var feeCap = (ServiceProvider.GetService<PaymentRules>() ?? PaymentRules.Default).WithdrawMaxFeePerGas;
        if (maxFee > feeCap)
        {
            return WithdrawRefused(WithdrawRefusal.SigningFailed, $"the network asks a fee of up to {maxFee} wei per gas, above the silo's limit of {feeCap} (X402__Payments__WithdrawMaxFeePerGas): nothing was signed; retry when fees are lower or raise the limit");
        }

        string raw;
        try
        {
            raw = await signer.SignTransactionAsync(new Eip1559Transaction(chainId, nonce, tip, maxFee, gas, BatchSettlementScheme.ContractAddress, BigInteger.Zero, callData));
        }
        catch (Exception ex) when (ex is NotSupportedException or FormatException or ArgumentException or InvalidOperationException)
        {
            return WithdrawRefused(WithdrawRefusal.SigningFailed, $"could not sign the {step} transaction: {ex.Message}");
        }

        var tx = new ChannelTxRecord { Step = step, Hash = Eip1559Transaction.HashOf(raw), Raw = raw, Nonce = AtomicAmount.ToText(nonce), Status = WithdrawTxStatus.Signed, SignedAt = clock.GetUtcNow() };
        S.Withdraw!.Transactions.Add(tx);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Unrecorded, so never returned: the stored record is the truth, this activation's copy goes with it.
            S.Withdraw.Transactions.Remove(tx);
            DeactivateOnIdle();
            throw;
        }

        return new WithdrawStep(true, WithdrawRefusal.None, $"{step} transaction {tx.Hash} signed and recorded", tx.Hash, tx.Raw, false, FinalizableAt(), WithdrawViewOf(true));
    }

    /// <summary>
    /// The finalize is mined (<paramref name="txHash"/>, or null when found done by another sender): the channel is withdrawn, what did
    /// not come back counts as spend, the rest is released, and <c>withdrawn</c> is logged.
    /// </summary>
    private async Task FinishWithdrawAsync(BigInteger returned, string? txHash)
    {
        var withdraw = S.Withdraw!;
        var balance = AtomicAmount.Parse(withdraw.BalanceAtomic);
        withdraw.ReturnedAtomic = AtomicAmount.ToText(returned);
        S.Phase = ChannelPhase.Withdrawn;
        S.BalanceAtomic = AtomicAmount.ToText(BigInteger.Max(BigInteger.Zero, balance - returned));
        S.BudgetChargedAtomic = AtomicAmount.ToText(BigInteger.Max(AtomicAmount.Parse(S.BudgetChargedAtomic), balance - returned));
        await SyncBudgetsAsync(releaseRest: true);
        Log("withdrawn", returned, txHash, $"unilateral withdraw of batch-settlement channel {S.ChannelId} finalized: {returned} came back to the wallet (asked for {withdraw.AmountAtomic})");
        await state.WriteStateAsync();
        await FlushLogAsync();
    }

    /// <summary>The caller's chain read, from the verified owner: the claims it shows are logged (and stored) before the step goes on.</summary>
    private async Task SeenOnChainAsync(WithdrawRequest request)
    {
        S.AgentId = request.AgentId;
        NoteClaimed(AtomicAmount.Parse(request.ClaimedAtomic));
        if (S.LogOutbox.Count > 0)
        {
            await state.WriteStateAsync();
            await FlushLogAsync();
        }
    }

    /// <summary>The channel's configuration, when it was used and belongs to <paramref name="agentId"/> (its salt is one of the agent's pool).</summary>
    private bool Owns(string? agentId, out ChannelConfig? config)
    {
        config = null;
        return !string.IsNullOrEmpty(agentId) && !string.IsNullOrEmpty(S.ConfigJson)
            && ChannelConfig.TryRead(JsonNode.Parse(S.ConfigJson) as JsonObject, out config, out _)
            && IsAgentSalt(config!.Salt, agentId);
    }

    private static ChannelTxRecord? Unresolved(ChannelWithdrawRecord withdraw) => withdraw.Transactions.LastOrDefault(t => t.Status == WithdrawTxStatus.Signed);

    private WithdrawStep Resumed(ChannelTxRecord tx) =>
        new(true, WithdrawRefusal.None, $"{tx.Step} transaction {tx.Hash} was signed earlier and is not resolved yet: the same transaction is returned (never a second one)", tx.Hash, tx.Raw, true, FinalizableAt(), WithdrawViewOf(true));

    private WithdrawStep WithdrawRefused(WithdrawRefusal refusal, string message, long? finalizableAt = null) =>
        new(false, refusal, message, null, null, false, finalizableAt ?? FinalizableAt(), WithdrawViewOf(refusal != WithdrawRefusal.NotFound));

    private long? FinalizableAt() =>
        S.Withdraw?.InitiatedAt is { } at && ChannelConfig.TryRead(JsonNode.Parse(S.ConfigJson) as JsonObject, out var config, out _) ? at + config!.WithdrawDelay : null;

    private WithdrawView WithdrawViewOf(bool owned)
    {
        if (!owned)
        {
            return new WithdrawView(false, string.Empty, string.Empty, string.Empty, ChannelPhase.Open, "0", "0", null, null, null, null, [], false);
        }

        var w = S.Withdraw;
        return new WithdrawView(
            w is not null, S.Network, S.ChannelId, S.ConfigJson, S.Phase, w?.AmountAtomic ?? "0", w?.AtLeastAtomic ?? "0", w?.RequestedAt, w?.InitiatedAt, FinalizableAt(), w?.ReturnedAtomic,
            [.. (w?.Transactions ?? []).Select(t => new WithdrawTxView(t.Step, t.Hash, t.Nonce, t.Status, t.SignedAt, t.Note))], true);
    }

    private static string Iso(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
