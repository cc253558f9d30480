using System.Numerics;

namespace X402Orleans.Payments.Tests;

public class AtomicAmountTests
{
    [Theory]
    [InlineData("0.01", 6, 10000)]
    [InlineData("5", 6, 5000000)]
    [InlineData("0.000001", 6, 1)]
    [InlineData("0", 6, 0)]
    [InlineData("0.10", 6, 100000)]
    [InlineData("007.5", 6, 7500000)]
    [InlineData("12", 0, 12)]
    [InlineData("1.5", 18, 1500000000000000000)]
    public void TryParseDecimal_ReturnsAtomicUnits_ForPlainDecimals(string text, int decimals, long expected)
    {
        Assert.True(AtomicAmount.TryParseDecimal(text, decimals, out var atomic, out var error), error);
        Assert.Equal(new BigInteger(expected), atomic);
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public void TryParseDecimal_Fails_WhenMoreDecimalPlacesThanAsset()
    {
        Assert.False(AtomicAmount.TryParseDecimal("0.0000001", 6, out var atomic, out var error));
        Assert.Equal(BigInteger.Zero, atomic);
        Assert.Equal("amount '0.0000001' has more than 6 decimal places", error);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1e3")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData("１")]
    [InlineData("0x10")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1,5")]
    [InlineData("1.2.3")]
    [InlineData("1_000")]
    [InlineData("٣")]
    [InlineData("NaN")]
    public void TryParseDecimal_Fails_WhenNotPlainAsciiDecimal(string text)
    {
        Assert.False(AtomicAmount.TryParseDecimal(text, 6, out _, out var error));
        Assert.Equal($"amount '{text}' is not a plain decimal number such as \"0.01\"", error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void TryParseDecimal_Fails_WhenEmpty(string? text)
    {
        Assert.False(AtomicAmount.TryParseDecimal(text, 6, out _, out var error));
        Assert.Equal("amount is empty", error);
    }

    [Fact]
    public void TryParseDecimal_Fails_WhenLongerThanLimit()
    {
        Assert.False(AtomicAmount.TryParseDecimal(new string('1', AtomicAmount.MaxLength + 1), 6, out _, out var error));
        Assert.Equal("amount is longer than 78 characters", error);
    }

    [Fact]
    public void TryParseDecimal_TruncatesEchoedInput_WhenLong()
    {
        var text = "x" + new string('1', 70);

        Assert.False(AtomicAmount.TryParseDecimal(text, 6, out _, out var error));
        Assert.Equal($"amount '{text[..32]}…' is not a plain decimal number such as \"0.01\"", error);
    }

    [Theory]
    [InlineData(10000, 6, "0.01")]
    [InlineData(0, 6, "0")]
    [InlineData(5000000, 6, "5")]
    [InlineData(1, 6, "0.000001")]
    [InlineData(1234567, 6, "1.234567")]
    [InlineData(100000, 6, "0.1")]
    [InlineData(42, 0, "42")]
    [InlineData(-10000, 6, "-0.01")]
    [InlineData(1500000000000000000, 18, "1.5")]
    public void Format_WritesDecimalWithoutTrailingZeros(long atomic, int decimals, string expected)
    {
        Assert.Equal(expected, AtomicAmount.Format(atomic, decimals));
    }

    [Theory]
    [InlineData("0.01")]
    [InlineData("123.456789")]
    [InlineData("1000000")]
    public void Format_InvertsTryParseDecimal(string text)
    {
        Assert.True(AtomicAmount.TryParseDecimal(text, 6, out var atomic, out _));
        Assert.Equal(text, AtomicAmount.Format(atomic, 6));
    }

    [Theory]
    [InlineData("1000", 1000)]
    [InlineData("0", 0)]
    public void TryParseAtomic_ReadsPlainInteger(string text, long expected)
    {
        Assert.True(AtomicAmount.TryParseAtomic(text, out var value));
        Assert.Equal(new BigInteger(expected), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1.0")]
    [InlineData(" 1")]
    [InlineData("1e3")]
    [InlineData("１")]
    public void TryParseAtomic_Fails_WhenNotPlainInteger(string? text)
    {
        Assert.False(AtomicAmount.TryParseAtomic(text, out _));
    }

    [Fact]
    public void Sum_AddsAmountsBeyondLongRange_WithoutRounding()
    {
        // two amounts whose sum no long (or double) holds exactly
        Assert.Equal("18446744073709551617", AtomicAmount.Sum("9223372036854775808", "9223372036854775809"));
        Assert.Equal("1001", AtomicAmount.Sum("1000", "1"));
    }

    [Fact]
    public void Format_OfAtomicText_MatchesFormatOfItsValue()
    {
        Assert.Equal("0.003267", AtomicAmount.Format("3267", 6));
        Assert.Equal(AtomicAmount.Format(AtomicAmount.Parse("123456789012345678901234567890"), 18), AtomicAmount.Format("123456789012345678901234567890", 18));
    }
}
