using System.Globalization;
using System.Numerics;

namespace X402Orleans.Payments;

/// <summary>Conversions between decimal strings in an asset's units ("0.01") and atomic integers (10000 at 6 decimals). No floating point anywhere.</summary>
public static class AtomicAmount
{
    /// <summary>Longest decimal string accepted, to keep hostile input cheap.</summary>
    public const int MaxLength = 78;

    /// <summary>The largest amount a token transfer can carry (uint256).</summary>
    public static readonly BigInteger MaxUint256 = (BigInteger.One << 256) - 1;

    /// <summary>Parses a plain non-negative integer string ("1000"); no sign, exponent, spaces or separators.</summary>
    public static bool TryParseAtomic(string? text, out BigInteger value)
    {
        value = BigInteger.Zero;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !text.All(char.IsAsciiDigit))
        {
            return false;
        }

        value = BigInteger.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return value <= MaxUint256;
    }

    /// <summary>
    /// Parses a decimal string in the asset's units ("0.01", "5", ".5" is refused) into atomic units. Refuses signs, exponents,
    /// more fractional digits than the asset has, and anything that is not plain ASCII digits with at most one dot.
    /// </summary>
    public static bool TryParseDecimal(string? text, int decimals, out BigInteger atomic, out string error)
    {
        atomic = BigInteger.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "amount is empty";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"amount is longer than {MaxLength} characters";
            return false;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? string.Empty : text[(dot + 1)..];
        if (whole.Length == 0 || !whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit) || (dot >= 0 && fraction.Length == 0))
        {
            error = $"amount '{Truncate(text)}' is not a plain decimal number such as \"0.01\"";
            return false;
        }

        if (fraction.Length > decimals)
        {
            error = $"amount '{Truncate(text)}' has more than {decimals} decimal places";
            return false;
        }

        atomic = BigInteger.Parse(whole + fraction.PadRight(decimals, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
        if (atomic > MaxUint256)
        {
            error = $"amount '{Truncate(text)}' is larger than a token transfer can carry";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>An atomic amount this system stored or produced as text ("1000"), as an integer (invariant culture).</summary>
    public static BigInteger Parse(string text) => BigInteger.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>An atomic amount as the text it is stored and sent as ("1000").</summary>
    public static string ToText(BigInteger atomic) => atomic.ToString(CultureInfo.InvariantCulture);

    /// <summary>The sum of two atomic amounts held as text, as text.</summary>
    public static string Sum(string a, string b) => ToText(Parse(a) + Parse(b));

    /// <summary>Formats an atomic amount held as text like <see cref="Format(BigInteger, int)"/>.</summary>
    public static string Format(string atomic, int decimals) => Format(Parse(atomic), decimals);

    /// <summary>Formats atomic units as a decimal string without trailing zeros ("10000" at 6 decimals → "0.01").</summary>
    public static string Format(BigInteger atomic, int decimals)
    {
        var negative = atomic.Sign < 0;
        var digits = BigInteger.Abs(atomic).ToString(CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
        var whole = digits[..^decimals];
        var fraction = decimals == 0 ? string.Empty : digits[^decimals..].TrimEnd('0');
        var text = fraction.Length == 0 ? whole : $"{whole}.{fraction}";
        return negative ? "-" + text : text;
    }

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "…";
}
