using System.Numerics;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Policy;

/// <summary>The outcome of choosing how to pay a 402.</summary>
/// <param name="Requirement">The chosen option, or null when none is acceptable.</param>
/// <param name="Asset">The allowed asset the option pays in.</param>
/// <param name="Reason">Why nothing was chosen (one clause per option), empty on success.</param>
public sealed record Selection(PaymentRequirements? Requirement, AssetInfo? Asset, string Reason)
{
    /// <summary>True when an option was chosen.</summary>
    public bool Succeeded => Requirement is not null;
}

/// <summary>
/// Picks the cheapest option of a 402 that the policy accepts (for <c>upto</c>, its maximum counts as its price; at the same price the
/// scheme listed first in <see cref="PaymentPolicy.Schemes"/> wins, then the option offered first), or explains exactly why none is
/// acceptable.
/// </summary>
public static class RequirementSelector
{
    /// <summary>Selects among <paramref name="challenge"/>'s options.</summary>
    public static Selection Select(PaymentRequired challenge, PaymentPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(policy);
        var reasons = new List<string>(challenge.Unreadable);
        PaymentRequirements? best = null;
        AssetInfo? bestAsset = null;
        foreach (var option in challenge.Accepts)
        {
            if (!IsAcceptable(option, policy, out var asset, out var why))
            {
                reasons.Add(why);
                continue;
            }

            var price = Normalized(option.Amount, asset!);
            var bestPrice = best is null ? BigInteger.Zero : Normalized(best.Amount, bestAsset!);
            if (best is null || price < bestPrice || (price == bestPrice && Rank(option, policy) < Rank(best, policy)))
            {
                best = option;
                bestAsset = asset;
            }
        }

        if (best is not null)
        {
            return new Selection(best, bestAsset, string.Empty);
        }

        var reason = reasons.Count == 0 ? "the server offered no payment options" : string.Join("; ", reasons.Distinct());
        return new Selection(null, null, reason);
    }

    /// <summary>Checks one option against the policy.</summary>
    public static bool IsAcceptable(PaymentRequirements option, PaymentPolicy policy, out AssetInfo? asset, out string reason)
    {
        asset = null;
        if (!CanPay(option, policy.Schemes, out reason))
        {
            return false;
        }

        if (!policy.Networks.Contains(option.Network, StringComparer.Ordinal))
        {
            reason = $"network {option.Network} is not allowed (allowed: {string.Join(", ", policy.Networks)})";
            return false;
        }

        asset = policy.FindAsset(option.Network, option.Asset);
        if (asset is null)
        {
            reason = $"asset {option.Asset} on {option.Network} is not an allowed asset";
            return false;
        }

        if (!AtomicAmount.TryParseDecimal(policy.MaxPayment, asset.Decimals, out var max, out var maxError))
        {
            reason = $"max_payment is invalid: {maxError}";
            asset = null;
            return false;
        }

        if (option.Amount > max)
        {
            reason = $"price {asset.Describe(option.Amount)} exceeds max_payment {AtomicAmount.Format(max, asset.Decimals)} {asset.Symbol}";
            asset = null;
            return false;
        }

        reason = string.Empty;
        return true;
    }

    // The scheme's own checks, for the schemes the policy allows.
    private static bool CanPay(PaymentRequirements option, IReadOnlyList<string> schemes, out string reason)
    {
        if (!schemes.Contains(option.Scheme, StringComparer.Ordinal))
        {
            reason = $"scheme '{option.Scheme}' is not supported (supported: {string.Join(", ", schemes)})";
            return false;
        }

        switch (option.Scheme)
        {
            case ExactEvmScheme.Name:
                return ExactEvmScheme.CanPay(option, out reason);
            case UptoEvmScheme.Name:
                return UptoEvmScheme.CanPay(option, out reason);
            case BatchSettlementScheme.Name:
                return BatchSettlementScheme.CanPay(option, out reason);
            default:
                reason = $"scheme '{option.Scheme}' is not implemented by this library";
                return false;
        }
    }

    private static int Rank(PaymentRequirements option, PaymentPolicy policy)
    {
        for (var i = 0; i < policy.Schemes.Count; i++)
        {
            if (string.Equals(policy.Schemes[i], option.Scheme, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return int.MaxValue;
    }

    // Compares prices across assets with different decimals by scaling to 36 decimal places.
    private static BigInteger Normalized(BigInteger amount, AssetInfo asset) =>
        amount * BigInteger.Pow(10, Math.Max(0, 36 - asset.Decimals));
}
