using System.Numerics;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>Whether a voucher ceiling may be signed.</summary>
public enum CeilingVerdict
{
    /// <summary>Within the rules: sign it.</summary>
    Allowed,

    /// <summary>Negative, or above uint128: never a valid voucher.</summary>
    OutOfRange,

    /// <summary>Above the highest ceiling ever signed plus one request's maximum: signing would expose more than one request's worth.</summary>
    BeyondOneRequest,
}

/// <summary>What to make of a server's <c>chargedAmount</c>.</summary>
public enum ChargeVerdict
{
    /// <summary>Within the request's maximum and consistent: record <see cref="ChargeCheck.ChargedTotal"/>.</summary>
    Accepted,

    /// <summary>Not a non-negative integer: the server's answer cannot be trusted; stop signing on this channel.</summary>
    Malformed,

    /// <summary>More than this request's maximum: stop signing on this channel.</summary>
    ExceedsRequestMaximum,

    /// <summary>The server's <c>channelState.chargedCumulativeAmount</c> is not our charged total plus this charge: stop signing and reconcile.</summary>
    TotalsDisagree,
}

/// <summary>The verdict on one server charge.</summary>
/// <param name="Verdict">What to do.</param>
/// <param name="Charged">The charge the server reported (0 when it reported none).</param>
/// <param name="ChargedTotal">The charged total after this request (the previous total when the verdict is not <see cref="ChargeVerdict.Accepted"/>).</param>
/// <param name="Reason">Why, for an operator; empty when accepted.</param>
public sealed record ChargeCheck(ChargeVerdict Verdict, BigInteger Charged, BigInteger ChargedTotal, string Reason)
{
    /// <summary>True when the charge may be recorded.</summary>
    public bool IsAccepted => Verdict == ChargeVerdict.Accepted;
}

/// <summary>
/// The ceiling rules of batch-settlement vouchers, as pure functions. A voucher's ceiling is cumulative: the server may claim up to it in
/// total. The client signs ceiling = charged so far + this request's maximum; the server charges at most that maximum and reports it.
/// </summary>
public static class VoucherCeiling
{
    /// <summary>The ceiling of the next paid request: <paramref name="chargedSoFar"/> + <paramref name="requestMaximum"/> (the official client's rule).</summary>
    public static BigInteger Next(BigInteger chargedSoFar, BigInteger requestMaximum)
    {
        if (chargedSoFar.Sign < 0 || requestMaximum.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(chargedSoFar.Sign < 0 ? nameof(chargedSoFar) : nameof(requestMaximum), "amounts are non-negative");
        }

        return chargedSoFar + requestMaximum;
    }

    /// <summary>The ceiling of a refund request: the charged total itself (a zero-charge voucher).</summary>
    public static BigInteger Refund(BigInteger chargedSoFar) => chargedSoFar;

    /// <summary>
    /// Whether <paramref name="ceiling"/> may be signed when the highest ceiling ever signed on the channel is <paramref name="highestSigned"/>:
    /// never beyond <paramref name="highestSigned"/> + <paramref name="requestMaximum"/>, so that at most one request's worth is ever
    /// exposed beyond what was already authorised (a lower ceiling, e.g. a refund, is always allowed).
    /// </summary>
    public static CeilingVerdict CheckSignable(BigInteger ceiling, BigInteger highestSigned, BigInteger requestMaximum)
    {
        if (ceiling.Sign < 0 || ceiling > BatchSettlementScheme.MaxUint128)
        {
            return CeilingVerdict.OutOfRange;
        }

        return ceiling > highestSigned + BigInteger.Max(requestMaximum, BigInteger.Zero) ? CeilingVerdict.BeyondOneRequest : CeilingVerdict.Allowed;
    }

    /// <summary>
    /// Checks a server's charge for one request whose voucher was signed on top of <paramref name="chargedBefore"/>:
    /// <paramref name="chargedAmount"/> (the receipt's <c>extra.chargedAmount</c>; absent = 0, as the official client reads it) must be a
    /// non-negative integer no larger than <paramref name="requestMaximum"/>, and when the server also reports its charged total
    /// (<paramref name="serverChargedTotal"/>, <c>channelState.chargedCumulativeAmount</c>) it must equal <paramref name="chargedBefore"/> + the charge.
    /// </summary>
    public static ChargeCheck CheckCharge(BigInteger chargedBefore, BigInteger requestMaximum, string? chargedAmount, string? serverChargedTotal)
    {
        var charged = BigInteger.Zero;
        if (chargedAmount is not null && !AtomicAmount.TryParseAtomic(chargedAmount, out charged))
        {
            return new ChargeCheck(ChargeVerdict.Malformed, BigInteger.Zero, chargedBefore, "the server's chargedAmount is not a non-negative integer");
        }

        if (charged > requestMaximum)
        {
            return new ChargeCheck(ChargeVerdict.ExceedsRequestMaximum, charged, chargedBefore, $"the server charged {charged}, more than the request's maximum {requestMaximum}");
        }

        var total = chargedBefore + charged;
        if (serverChargedTotal is not null && (!AtomicAmount.TryParseAtomic(serverChargedTotal, out var reported) || reported != total))
        {
            return new ChargeCheck(ChargeVerdict.TotalsDisagree, charged, chargedBefore, $"the server reports a charged total of {serverChargedTotal}, ours is {chargedBefore} + {charged} = {total}");
        }

        return new ChargeCheck(ChargeVerdict.Accepted, charged, total, string.Empty);
    }
}
