using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>A deposit size, or why none fits.</summary>
/// <param name="Succeeded">Whether a deposit within the limit covers the next voucher.</param>
/// <param name="Amount">The amount to deposit (atomic units); 0 when not succeeded.</param>
/// <param name="Reason">Why not, for the caller; empty on success.</param>
public sealed record DepositSize(bool Succeeded, BigInteger Amount, string Reason);

/// <summary>How the official client sizes deposits and top-ups.</summary>
public static class DepositSizing
{
    /// <summary>
    /// The amount the channel lacks for a voucher with ceiling <paramref name="ceiling"/>: 0 when the balance covers it (a voucher alone
    /// will do), else <paramref name="ceiling"/> − <paramref name="balance"/>. An empty channel (balance 0) always needs a deposit.
    /// </summary>
    public static BigInteger Needed(BigInteger balance, BigInteger ceiling) =>
        balance.Sign <= 0 || ceiling > balance ? ceiling - BigInteger.Max(balance, BigInteger.Zero) : BigInteger.Zero;

    /// <summary>The server's <c>extra.minDeposit</c> when it is an integer string, positive and at least <paramref name="requestAmount"/>; else null.</summary>
    public static BigInteger? AnnouncedMinDeposit(JsonObject? extra, BigInteger requestAmount)
    {
        var text = extra is null ? null : X402Json.GetString(extra, "minDeposit");
        return AtomicAmount.TryParseAtomic(text, out var value) && value.Sign > 0 && value >= requestAmount ? value : null;
    }

    /// <summary>The official client's deposit limit: <paramref name="multiplier"/> × the per-payment spend cap (none when uncapped).</summary>
    public static BigInteger? LimitFromSpendCap(BigInteger? maxAmountPerPayment, int multiplier = BatchSettlementScheme.DefaultDepositMultiplier) =>
        maxAmountPerPayment is { Sign: > 0 } cap ? cap * multiplier : null;

    /// <summary>
    /// The deposit for a request of <paramref name="requestAmount"/> when the channel lacks <paramref name="needed"/>: the server's
    /// <c>minDeposit</c> hint, else <paramref name="multiplier"/> × the request, at least <paramref name="needed"/>, and capped at
    /// <paramref name="limit"/> (fails when even <paramref name="needed"/> exceeds it).
    /// </summary>
    public static DepositSize Compute(BigInteger requestAmount, BigInteger needed, JsonObject? extra, BigInteger? limit, int multiplier = BatchSettlementScheme.DefaultDepositMultiplier)
    {
        if (multiplier < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(multiplier), "the deposit multiplier is at least 1");
        }

        var target = AnnouncedMinDeposit(extra, requestAmount) ?? requestAmount * multiplier;
        var deposit = BigInteger.Max(needed, target);
        if (limit is { } cap)
        {
            if (needed > cap)
            {
                return new DepositSize(false, BigInteger.Zero, $"the channel needs a deposit of {needed}, more than the deposit limit {cap}");
            }

            deposit = BigInteger.Min(deposit, cap);
        }

        return deposit.Sign > 0 ? new DepositSize(true, deposit, string.Empty) : new DepositSize(false, BigInteger.Zero, "nothing to deposit");
    }
}
