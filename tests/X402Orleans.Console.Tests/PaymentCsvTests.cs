using X402Orleans.Abstractions;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.Console.Tests;

public sealed class PaymentCsvTests
{
    private static PaymentRow Row(string? transaction, string? reason) => new("agent-a", new PaymentAttempt(
        new DateTimeOffset(2026, 12, 3, 10, 4, 5, 123, TimeSpan.Zero), Guid.Parse("6f1c2a8e-0000-4000-8000-000000000001"), "https://api.example/x",
        "eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", 6, "1000", "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "settled", transaction, reason));

    [Fact]
    public void Write_StartsWithContractHeader_WhenThereAreNoRows()
    {
        Assert.Equal("at,agent,session_id,outcome,amount,asset,network,transaction,reason\r\n", PaymentCsv.Write([]));
    }

    [Fact]
    public void Write_WritesOneLinePerPayment_WithFullTransactionAndAtomicAmount()
    {
        var hash = "0x" + new string('a', 64);

        var lines = PaymentCsv.Write([Row(hash, null)]).Split("\r\n");

        Assert.Equal("2026-12-03T10:04:05.123Z,agent-a,6f1c2a8e-0000-4000-8000-000000000001,settled,1000,USDC,eip155:84532," + hash + ",", lines[1]);
        Assert.Equal("", lines[2]);
    }

    [Fact]
    public void Write_QuotesFields_WhenTheyHoldCommasQuotesOrLineBreaks()
    {
        var line = PaymentCsv.Write([Row(null, "server said \"no\", twice\nthen left")]).Split("\r\n", 2)[1];

        Assert.EndsWith(",,\"server said \"\"no\"\", twice\nthen left\"\r\n", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Field_NeutralisesFormula_WhenValueStartsWithEquals()
    {
        Assert.Equal("'=HYPERLINK(1)", PaymentCsv.Field("=HYPERLINK(1)"));
        Assert.Equal("plain", PaymentCsv.Field("plain"));
    }

    [Fact]
    public void Show_GivesAtomicAndHumanForm_WithoutFloatingPoint()
    {
        Assert.Equal("1000 (0.001 USDC)", Amounts.Show("1000", 6, "USDC"));
        Assert.Equal("123456789012345678901234567890 (123456789012.34567890123456789 ETH)", Amounts.Show("123456789012345678901234567890", 18, "ETH"));
        Assert.Equal("none", Amounts.Show(null, 6, "USDC"));
    }
}
