using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>The first check of every scheme that exists only in x402 version 2 (<c>upto</c>, <c>batch-settlement</c>).</summary>
internal static class V2Scheme
{
    /// <summary>Whether <paramref name="requirements"/> names scheme <paramref name="name"/> in x402 version 2; says why not otherwise.</summary>
    public static bool Matches(PaymentRequirements requirements, string name, out string error)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        if (!string.Equals(requirements.Scheme, name, StringComparison.Ordinal))
        {
            error = $"scheme '{requirements.Scheme}' is not {name}";
            return false;
        }

        if (requirements.X402Version != 2)
        {
            error = $"scheme {name} exists only in x402 version 2";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
