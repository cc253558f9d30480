using System.Globalization;
using System.Numerics;
using Nethereum.Util;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// Solidity ABI words (32 bytes, 64 lower-case hex digits, no <c>0x</c>) of static values, function selectors and the reading of
/// words back. Enough for calls whose arguments are all static (addresses, uints, bytes32 and static tuples of them), which are
/// encoded in place, one word each.
/// </summary>
public static class AbiWord
{
    /// <summary>The 4-byte selector of a canonical function signature, e.g. <c>finalizeWithdraw((address,…,bytes32))</c> (8 hex digits).</summary>
    public static string Selector(string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        return Sha3Keccack.Current.CalculateHash(signature)[..8];
    }

    /// <summary>The keccak256 topic of an event signature (<c>0x</c> + 64 hex digits).</summary>
    public static string Topic(string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        return "0x" + Sha3Keccack.Current.CalculateHash(signature);
    }

    /// <summary>An unsigned integer word.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or wider than 256 bits.</exception>
    public static string Uint(BigInteger value)
    {
        if (value.Sign < 0 || value.GetBitLength() > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "an ABI uint word holds 0 ≤ value < 2^256");
        }

        return value.IsZero ? new string('0', 64) : value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(64, '0');
    }

    /// <summary>A word of an address or a bytes32 (or any ≤ 32-byte hex value, left-padded), <c>0x</c> optional.</summary>
    /// <exception cref="FormatException">Not hex, or longer than 32 bytes.</exception>
    public static string Hex(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        if (digits.Length > 64 || digits.AsSpan().ContainsAnyExcept("0123456789abcdefABCDEF"))
        {
            throw new FormatException("not a hex word");
        }

        return digits.ToLowerInvariant().PadLeft(64, '0');
    }

    /// <summary>Word <paramref name="index"/> (0-based) of ABI-encoded return data (<c>0x</c> optional) as an unsigned integer; null when the data is shorter.</summary>
    public static BigInteger? ReadUint(string? data, int index)
    {
        if (data is null)
        {
            return null;
        }

        var digits = data.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? data.AsSpan(2) : data.AsSpan();
        var start = index * 64;
        if (index < 0 || digits.Length < start + 64 || digits.Slice(start, 64).ContainsAnyExcept("0123456789abcdefABCDEF"))
        {
            return null;
        }

        return BigInteger.Parse("0" + digits.Slice(start, 64).ToString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
