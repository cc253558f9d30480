using System.Globalization;
using X402Orleans.Payments;

namespace X402Orleans.OperatorConsole.Data;

/// <summary>Atomic amounts as the console shows them: the exact integer and its human form (decimal string arithmetic, no floats).</summary>
public static class Amounts
{
    /// <summary>The human form of <paramref name="atomic"/> at <paramref name="decimals"/> ("10000", 6 → "0.01"); the text itself when it is no integer.</summary>
    public static string Human(string? atomic, int decimals) =>
        AtomicAmount.TryParseAtomic(atomic, out var value) && decimals is >= 0 and <= 77 ? AtomicAmount.Format(value, decimals) : atomic ?? "";

    /// <summary>"10000 (0.01 USDC)"; "none" when there is no amount (e.g. no limit).</summary>
    public static string Show(string? atomic, int decimals, string symbol) =>
        atomic is null ? "none" : string.Create(CultureInfo.InvariantCulture, $"{atomic} ({Human(atomic, decimals)} {symbol})");

    /// <summary>A decimal amount ("0.10") shown like an atomic one at <paramref name="decimals"/>: "100000 (0.1 USDC)"; the text itself when it is no such decimal.</summary>
    public static string ShowDecimal(string text, int decimals, string symbol) =>
        AtomicAmount.TryParseDecimal(text, decimals, out var atomic, out _) ? Show(atomic.ToString(CultureInfo.InvariantCulture), decimals, symbol) : text;
}
