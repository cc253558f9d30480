using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>The server's view of a channel (<c>extra.channelState</c> of a receipt or a corrective 402). Untrusted: check before use.</summary>
/// <param name="ChannelId">The channel id the server names.</param>
/// <param name="Balance">Deposited and not withdrawn (on chain).</param>
/// <param name="TotalClaimed">Claimed so far (on chain).</param>
/// <param name="WithdrawRequestedAt">Unix seconds of a pending unilateral withdraw, 0 when none.</param>
/// <param name="RefundNonce">The channel's refund nonce.</param>
/// <param name="ChargedCumulativeAmount">The server's charged total, when it sent one.</param>
public sealed record ChannelState(string? ChannelId, BigInteger Balance, BigInteger TotalClaimed, long WithdrawRequestedAt, BigInteger RefundNonce, BigInteger? ChargedCumulativeAmount)
{
    /// <summary>Reads a <c>channelState</c> object; amounts must be integer strings (the nonce may be a number).</summary>
    public static bool TryRead(JsonObject? json, out ChannelState? state)
    {
        state = null;
        if (json is null
            || !AtomicAmount.TryParseAtomic(X402Json.GetString(json, "balance"), out var balance)
            || !AtomicAmount.TryParseAtomic(X402Json.GetString(json, "totalClaimed"), out var claimed))
        {
            return false;
        }

        X402Json.TryGetInt64(json, "withdrawRequestedAt", out var withdrawAt);
        BigInteger nonce = X402Json.TryGetInt64(json, "refundNonce", out var n) ? n : BigInteger.Zero;
        BigInteger? charged = null;
        if (json["chargedCumulativeAmount"] is not null)
        {
            if (!AtomicAmount.TryParseAtomic(X402Json.GetString(json, "chargedCumulativeAmount"), out var c))
            {
                return false;
            }

            charged = c;
        }

        state = new ChannelState(X402Json.GetString(json, "channelId"), balance, claimed, withdrawAt, nonce, charged);
        return true;
    }
}

/// <summary>What a batch-settlement receipt (<c>PAYMENT-RESPONSE</c>) says about the request it answers.</summary>
/// <param name="Success">Whether the server settled (accepted) the payment.</param>
/// <param name="ChargedAmount">The receipt's <c>extra.chargedAmount</c> as sent (null when absent: the official client counts that as 0).</param>
/// <param name="ChannelState">The receipt's <c>extra.channelState</c>, when present and readable.</param>
/// <param name="ServerChargedTotal">The raw <c>channelState.chargedCumulativeAmount</c>, when present (checked by <see cref="VoucherCeiling.CheckCharge"/>).</param>
public sealed record BatchSettlementReceipt(bool Success, string? ChargedAmount, ChannelState? ChannelState, string? ServerChargedTotal)
{
    /// <summary>Reads the batch-settlement part of a decoded receipt. Fails when <c>chargedAmount</c> is present but not a string (as the official client).</summary>
    public static bool TryRead(SettlementResponse response, out BatchSettlementReceipt? receipt, out string error)
    {
        ArgumentNullException.ThrowIfNull(response);
        receipt = null;
        var extra = response.Extra;
        var chargedNode = extra?["chargedAmount"];
        string? charged = null;
        if (chargedNode is not null && (chargedNode is not JsonValue value || !value.TryGetValue(out charged)))
        {
            error = "the receipt's chargedAmount is not a string";
            return false;
        }

        var stateJson = extra?["channelState"] as JsonObject;
        ChannelState.TryRead(stateJson, out var state);
        var serverTotal = stateJson?["chargedCumulativeAmount"] is JsonNode total ? (total is JsonValue v && v.TryGetValue<string>(out var s) ? s : total.ToJsonString()) : null;
        receipt = new BatchSettlementReceipt(response.Success, charged, state, serverTotal);
        error = string.Empty;
        return true;
    }

    /// <summary>Decodes a <c>PAYMENT-RESPONSE</c> header value and reads it.</summary>
    public static bool TryDecodeHeader(string? header, out BatchSettlementReceipt? receipt, out string error)
    {
        receipt = null;
        return SettlementResponse.TryDecodeHeader(header, out var response, out error) && TryRead(response!, out receipt, out error);
    }

    /// <summary>Checks this receipt's charge for a request whose voucher was signed on top of <paramref name="chargedBefore"/> (see <see cref="VoucherCeiling.CheckCharge"/>).</summary>
    public ChargeCheck Check(BigInteger chargedBefore, BigInteger requestMaximum) =>
        VoucherCeiling.CheckCharge(chargedBefore, requestMaximum, ChargedAmount, ServerChargedTotal);
}

/// <summary>What to make of a corrective 402.</summary>
public enum CorrectiveVerdict
{
    /// <summary>The server's charged total is backed by a voucher we signed: adopt <see cref="CorrectiveCheck.ChargedTotal"/> and retry.</summary>
    Adopt,

    /// <summary>The 402 carries no voucher state: only the chain (totalClaimed, balance) can say where the channel stands.</summary>
    NeedsChainState,

    /// <summary>The returned voucher does not recover to our payer authorizer for our channel: do not adopt anything.</summary>
    NotOurVoucher,

    /// <summary>The server's charged total exceeds the voucher it returns (or is below what was claimed on chain): inconsistent, do not adopt.</summary>
    Inconsistent,
}

/// <summary>The verdict on a corrective 402.</summary>
/// <param name="Verdict">What to do.</param>
/// <param name="ChargedTotal">The server's charged total (meaningful for <see cref="CorrectiveVerdict.Adopt"/>).</param>
/// <param name="SignedMaxClaimable">The highest ceiling the server holds a voucher for.</param>
/// <param name="Reason">Why, for an operator; empty on adopt.</param>
public sealed record CorrectiveCheck(CorrectiveVerdict Verdict, BigInteger ChargedTotal, BigInteger SignedMaxClaimable, string Reason);

/// <summary>
/// A corrective 402 of a batch-settlement server (<c>error</c> = <c>…cumulative_amount_mismatch</c> or <c>…cumulative_below_claimed</c>):
/// its <c>accepts</c> entry carries the server's <c>channelState</c> and the latest voucher it holds (<c>voucherState</c>).
/// </summary>
/// <param name="Error">The 402's error code.</param>
/// <param name="Requirements">The batch-settlement entry (pay it again once the state is adopted).</param>
/// <param name="ChannelState">The server's channel view, if readable.</param>
/// <param name="SignedMaxClaimable">voucherState.signedMaxClaimable, if present.</param>
/// <param name="Signature">voucherState.signature, if present.</param>
public sealed record CorrectivePaymentRequired(string Error, PaymentRequirements Requirements, ChannelState? ChannelState, BigInteger? SignedMaxClaimable, string? Signature)
{
    /// <summary>Reads a 402 as a corrective one; false when its error is not a cumulative mismatch or it offers no batch-settlement entry.</summary>
    public static bool TryRead(PaymentRequired challenge, out CorrectivePaymentRequired? corrective)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        corrective = null;
        if (challenge.Error is not (BatchSettlementScheme.ErrCumulativeAmountMismatch or BatchSettlementScheme.ErrCumulativeBelowClaimed))
        {
            return false;
        }

        var entry = challenge.Accepts.FirstOrDefault(a => string.Equals(a.Scheme, BatchSettlementScheme.Name, StringComparison.Ordinal));
        if (entry is null)
        {
            return false;
        }

        ChannelState.TryRead(entry.Extra?["channelState"] as JsonObject, out var state);
        var voucherState = entry.Extra?["voucherState"] as JsonObject;
        BigInteger? signed = voucherState is not null && AtomicAmount.TryParseAtomic(X402Json.GetString(voucherState, "signedMaxClaimable"), out var s) ? s : null;
        corrective = new CorrectivePaymentRequired(challenge.Error, entry, state, signed, voucherState is null ? null : X402Json.GetString(voucherState, "signature"));
        return true;
    }

    /// <summary>
    /// Decides whether to adopt the server's state for our channel <paramref name="config"/>: the returned voucher (our channel id, the
    /// server's signedMaxClaimable) must recover to our payer authorizer, and charged ≤ signed; when <paramref name="chainTotalClaimed"/>
    /// is known, charged must not be below it (as the official client, which reads it from chain).
    /// </summary>
    public CorrectiveCheck Check(ChannelConfig config, BigInteger? chainTotalClaimed = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (ChannelState?.ChargedCumulativeAmount is not { } charged || SignedMaxClaimable is not { } signed || Signature is null)
        {
            return new CorrectiveCheck(CorrectiveVerdict.NeedsChainState, BigInteger.Zero, BigInteger.Zero, "the corrective 402 carries no voucher state; read the channel from chain");
        }

        if (charged > signed || (chainTotalClaimed is { } claimed && charged < claimed))
        {
            return new CorrectiveCheck(CorrectiveVerdict.Inconsistent, charged, signed, $"the server's charged total {charged} is above its voucher {signed} or below the claimed total");
        }

        var voucher = new Voucher(config.ComputeId(Requirements.Network), signed, Signature);
        if (!voucher.IsSignedBy(config.PayerAuthorizer, Requirements.Network))
        {
            return new CorrectiveCheck(CorrectiveVerdict.NotOurVoucher, charged, signed, "the returned voucher was not signed by our payer authorizer for our channel");
        }

        return new CorrectiveCheck(CorrectiveVerdict.Adopt, charged, signed, string.Empty);
    }
}
