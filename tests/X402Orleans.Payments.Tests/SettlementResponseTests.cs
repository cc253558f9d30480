using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public class SettlementResponseTests
{
    private const string Tx = "0x5b1e0b5a4c8f4d0ee6f0c4f6c9b3f8a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7";

    [Fact]
    public void EncodeHeader_WritesOfficialSuccessReceipt()
    {
        var receipt = new SettlementResponse(true, Tx, "eip155:84532", TestData.Address, null);

        Assert.Equal(
            $"{{\"success\":true,\"transaction\":\"{Tx}\",\"network\":\"eip155:84532\",\"payer\":\"{TestData.Address}\"}}",
            TestData.DecodeBase64(receipt.EncodeHeader()));
    }

    [Fact]
    public void EncodeHeader_WritesErrorReasonAfterSuccess_WhenFailed()
    {
        var receipt = new SettlementResponse(false, string.Empty, "eip155:84532", null, "invalid_exact_evm_insufficient_balance");

        Assert.Equal(
            "{\"success\":false,\"errorReason\":\"invalid_exact_evm_insufficient_balance\",\"transaction\":\"\",\"network\":\"eip155:84532\"}",
            TestData.DecodeBase64(receipt.EncodeHeader()));
    }

    [Fact]
    public void TryDecodeHeader_RoundTripsEncodeHeader()
    {
        var receipt = new SettlementResponse(true, Tx, "eip155:8453", TestData.Address, null);

        Assert.True(SettlementResponse.TryDecodeHeader(receipt.EncodeHeader(), out var decoded, out var error), error);
        Assert.Equal(receipt, decoded);
    }

    [Fact]
    public void TryDecodeHeader_ReadsOfficialReceipt_WhenBase64Url()
    {
        var header = TestData.Base64Url($"{{\"success\":true,\"transaction\":\"{Tx}\",\"network\":\"eip155:84532\",\"payer\":\"{TestData.Address}\",\"extensions\":{{}}}}", padded: false);

        Assert.True(SettlementResponse.TryDecodeHeader(header, out var decoded, out var error), error);
        Assert.Equal(new SettlementResponse(true, Tx, "eip155:84532", TestData.Address, null), decoded);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"success\":\"true\"}")]
    [InlineData("{\"success\":1}")]
    [InlineData("{\"success\":false}")]
    public void TryDecodeHeader_ReportsNotSuccessful_UnlessSuccessIsJsonTrue(string json)
    {
        Assert.True(SettlementResponse.TryDecodeHeader(TestData.Base64(json), out var decoded, out var error), error);
        Assert.False(decoded!.Success);
        Assert.Equal(string.Empty, decoded.Transaction);
        Assert.Equal(string.Empty, decoded.Network);
        Assert.Null(decoded.Payer);
    }

    [Fact]
    public void TryDecodeHeader_ReadsErrorReason_WhenFailed()
    {
        var header = TestData.Base64("{\"success\":false,\"errorReason\":\"invalid_exact_evm_nonce_already_used\",\"transaction\":\"\",\"network\":\"eip155:84532\"}");

        Assert.True(SettlementResponse.TryDecodeHeader(header, out var decoded, out _));
        Assert.Equal("invalid_exact_evm_nonce_already_used", decoded!.ErrorReason);
    }

    [Fact]
    public void TryDecodeHeader_Fails_WhenNotBase64Json()
    {
        Assert.False(SettlementResponse.TryDecodeHeader("not a receipt", out var decoded, out var error));
        Assert.Null(decoded);
        Assert.Equal("receipt header is not base64", error);
    }

    [Fact]
    public void TryDecodeHeader_ReadsChargedAmount_ForUptoReceipt()
    {
        var header = TestData.Base64($"{{\"success\":true,\"transaction\":\"{Tx}\",\"network\":\"eip155:84532\",\"payer\":\"{TestData.Address}\",\"amount\":\"1234\"}}");

        Assert.True(SettlementResponse.TryDecodeHeader(header, out var decoded, out var error), error);
        Assert.Equal(new System.Numerics.BigInteger(1234), decoded!.Amount);
        Assert.Equal(new System.Numerics.BigInteger(1234), decoded.ChargedAmount(50000));
    }

    [Fact]
    public void TryDecodeHeader_ReadsZeroCharge_WithEmptyTransaction()
    {
        var header = TestData.Base64($"{{\"success\":true,\"transaction\":\"\",\"network\":\"eip155:84532\",\"payer\":\"{TestData.Address}\",\"amount\":\"0\"}}");

        Assert.True(SettlementResponse.TryDecodeHeader(header, out var decoded, out var error), error);
        Assert.True(decoded!.Success);
        Assert.Equal(string.Empty, decoded.Transaction);
        Assert.Equal(System.Numerics.BigInteger.Zero, decoded.ChargedAmount(50000));
    }

    [Fact]
    public void TryDecodeHeader_ReadsNoAmount_WhenAmountIsEmpty_AsTheOfficialBatchSettlementServersVoucherReceipt()
    {
        var header = TestData.Base64($"{{\"success\":true,\"payer\":\"{TestData.Address}\",\"transaction\":\"\",\"network\":\"eip155:84532\",\"amount\":\"\",\"extra\":{{\"chargedAmount\":\"3000\"}}}}");

        Assert.True(SettlementResponse.TryDecodeHeader(header, out var decoded, out var error), error);
        Assert.True(decoded!.Success);
        Assert.Null(decoded.Amount);
        Assert.Equal("3000", decoded.Extra!["chargedAmount"]!.GetValue<string>());
    }

    [Fact]
    public void ChargedAmount_IsAuthorizedAmount_WhenReceiptHasNoAmount()
    {
        var receipt = new SettlementResponse(true, Tx, "eip155:84532", TestData.Address, null);

        Assert.Null(receipt.Amount);
        Assert.Equal(new System.Numerics.BigInteger(10000), receipt.ChargedAmount(10000));
    }

    [Theory]
    [InlineData("\"-1\"")]
    [InlineData("\"1.5\"")]
    [InlineData("\"$0.05\"")]
    [InlineData("12")]
    public void TryDecodeHeader_Fails_WhenAmountIsNotAtomicString(string amount)
    {
        var header = TestData.Base64($"{{\"success\":true,\"transaction\":\"\",\"network\":\"eip155:84532\",\"amount\":{amount}}}");

        Assert.False(SettlementResponse.TryDecodeHeader(header, out _, out var error));
        Assert.Contains("amount", error, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeHeader_WritesAmountLast_AndRoundTrips()
    {
        var receipt = new SettlementResponse(true, string.Empty, "eip155:84532", TestData.Address, null) { Amount = 0 };

        Assert.Equal($"{{\"success\":true,\"transaction\":\"\",\"network\":\"eip155:84532\",\"payer\":\"{TestData.Address}\",\"amount\":\"0\"}}", TestData.DecodeBase64(receipt.EncodeHeader()));
        Assert.True(SettlementResponse.TryDecodeHeader(receipt.EncodeHeader(), out var decoded, out _));
        Assert.Equal(receipt, decoded);
    }
}
