using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public class PaymentRequiredTests
{
    [Fact]
    public void TryDecodeHeader_ReadsV2Challenge_FromOfficialShape()
    {
        var header = TestData.Base64(TestData.ChallengeJson(TestData.Requirement()));

        Assert.True(PaymentRequired.TryDecodeHeader(header, out var challenge, out var error), error);

        Assert.Equal(2, challenge!.X402Version);
        Assert.Equal("Payment required", challenge.Error);
        Assert.Equal(new ResourceInfo("https://api.example.com/v1/weather", "Weather", "application/json"), challenge.Resource);
        Assert.Empty(challenge.Unreadable);
        Assert.True(challenge.Extensions!["bazaar"]!["discoverable"]!.GetValue<bool>());
        var req = Assert.Single(challenge.Accepts);
        Assert.Equal(2, req.X402Version);
        Assert.Equal("exact", req.Scheme);
        Assert.Equal("eip155:84532", req.Network);
        Assert.Equal("eip155:84532", req.WireNetwork);
        Assert.Equal(new BigInteger(10000), req.Amount);
        Assert.Equal(TestData.UsdcSepolia, req.Asset);
        Assert.Equal(TestData.PayTo, req.PayTo);
        Assert.Equal(300, req.MaxTimeoutSeconds);
        Assert.Equal("USDC", req.Extra!["name"]!.GetValue<string>());
        Assert.Null(req.ResourceUrl);
    }

    [Fact]
    public void TryDecodeHeader_ReadsChallenge_WhenBase64UrlWithoutPadding()
    {
        var header = TestData.Base64Url(TestData.ChallengeJson(TestData.Requirement()), padded: false);

        Assert.True(PaymentRequired.TryDecodeHeader(header, out var challenge, out var error), error);
        Assert.Single(challenge!.Accepts);
    }

    [Fact]
    public void RequirementToJson_EchoesEntryByteForByte_AsReceived()
    {
        // Odd key order, a lower-case and a checksummed address, a numeric timeout and unknown keys in extra and at top level.
        const string entry = "{\"payTo\":\"0x209693Bc6afc0C5328bA36FaF03C514EF312287C\",\"scheme\":\"exact\",\"network\":\"eip155:84532\","
            + "\"asset\":\"0x036cbd53842c5426634e7929541ec2318f3dcf7e\",\"amount\":\"10000\",\"maxTimeoutSeconds\":300,"
            + "\"extra\":{\"version\":\"2\",\"name\":\"USDC\",\"vendor\":{\"tier\":[1,2.50,true,null]}},\"outputSchema\":null}";
        var challenge = TestData.Challenge(entry);

        var req = Assert.Single(challenge.Accepts);
        Assert.Equal(entry, X402Json.Serialize(req.ToJson()));
        Assert.Equal(["payTo", "scheme", "network", "asset", "amount", "maxTimeoutSeconds", "extra", "outputSchema"], TestData.Keys(req.ToJson()));
        Assert.Equal(System.Text.Json.JsonValueKind.Number, req.ToJson()["maxTimeoutSeconds"]!.GetValueKind());
    }

    [Fact]
    public void RequirementToJson_ReturnsCopy_WhenCallerMutatesIt()
    {
        var req = Assert.Single(TestData.Challenge(TestData.Requirement()).Accepts);

        req.ToJson()["amount"] = "1";

        Assert.Equal(TestData.Requirement(), X402Json.Serialize(req.ToJson()));
    }

    [Fact]
    public void ToJson_EchoesWholeChallengeByteForByte_AsReceived()
    {
        var text = TestData.ChallengeJson(TestData.Requirement(), TestData.Requirement(amount: "\"20000\"", network: "eip155:8453", asset: TestData.UsdcBase));
        Assert.True(PaymentRequired.TryDecodeHeader(TestData.Base64(text), out var challenge, out var error), error);

        Assert.Equal(text, X402Json.Serialize(challenge!.ToJson()));
        Assert.Equal(TestData.Base64(text), challenge.EncodeHeader());
    }

    [Fact]
    public void RawResource_KeepsUnknownResourceKeys_ForEchoing()
    {
        const string resource = "{\"url\":\"https://api.example.com/v1/weather\",\"mimeType\":\"application/json\",\"x-custom\":{\"k\":1}}";
        var text = "{\"x402Version\":2,\"resource\":" + resource + ",\"accepts\":[]}";

        Assert.True(PaymentRequired.TryDecodeHeader(TestData.Base64(text), out var challenge, out var error), error);

        Assert.Equal(resource, X402Json.Serialize(challenge!.RawResource!));
        Assert.Equal(new ResourceInfo("https://api.example.com/v1/weather", null, "application/json"), challenge.Resource);
        Assert.Null(challenge.Error);
        Assert.Null(challenge.Extensions);
    }

    [Fact]
    public void TryDecodeHeader_CollectsUnreadableEntries_AndKeepsGoodOnes()
    {
        var header = TestData.Base64(TestData.ChallengeJson(
            "{\"scheme\":\"exact\"}",
            TestData.Requirement(),
            "42",
            TestData.Requirement(amount: "\"-5\""),
            "{\"scheme\":\"exact\",\"network\":\"eip155:84532\",\"amount\":\"1\",\"asset\":\"0xa\",\"payTo\":\"0xb\",\"maxTimeoutSeconds\":0}",
            TestData.Requirement(amount: "\"30000\"")));

        Assert.True(PaymentRequired.TryDecodeHeader(header, out var challenge, out var error), error);

        Assert.Equal([new BigInteger(10000), new BigInteger(30000)], challenge!.Accepts.Select(a => a.Amount));
        Assert.Equal(
            [
                "accepts[0]: missing network",
                "accepts[2]: entry is not an object",
                "accepts[3]: 'amount' is not a non-negative integer string",
                "accepts[4]: 'maxTimeoutSeconds' is not a positive integer",
            ],
            challenge.Unreadable);
    }

    [Theory]
    [InlineData("{\"scheme\":\"\",\"network\":\"eip155:1\"}", "missing scheme")]
    [InlineData("{\"scheme\":\"exact\",\"network\":\"eip155:1\",\"amount\":\"1\",\"payTo\":\"0xb\",\"maxTimeoutSeconds\":1}", "missing asset")]
    [InlineData("{\"scheme\":\"exact\",\"network\":\"eip155:1\",\"amount\":\"1\",\"asset\":\"0xa\",\"maxTimeoutSeconds\":1}", "missing payTo")]
    [InlineData("{\"scheme\":\"exact\",\"network\":\"eip155:1\",\"asset\":\"0xa\",\"payTo\":\"0xb\",\"maxTimeoutSeconds\":1}", "'amount' is not a non-negative integer string")]
    [InlineData("{\"scheme\":\"exact\",\"network\":\"eip155:1\",\"amount\":\"1\",\"asset\":\"0xa\",\"payTo\":\"0xb\"}", "'maxTimeoutSeconds' is not a positive integer")]
    public void Parse_SaysWhichFieldIsWrong_WhenEntryIncomplete(string entry, string expected)
    {
        Assert.False(PaymentRequirements.Parse(JsonNode.Parse(entry), 2, out var req, out var error));
        Assert.Null(req);
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("\"-1\"")]
    [InlineData("\"1e6\"")]
    [InlineData("\"1.5\"")]
    [InlineData("\" 10\"")]
    [InlineData("\"10 \"")]
    [InlineData("\"\"")]
    [InlineData("\"0x10\"")]
    [InlineData("\"1,000\"")]
    [InlineData("\"+10\"")]
    [InlineData("\"１\"")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("1e6")]
    [InlineData("99999999999999999999")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{}")]
    public void TryDecodeHeader_MarksEntryUnreadable_WhenAmountIsNotANonNegativeInteger(string amount)
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: amount));

        Assert.Empty(challenge.Accepts);
        Assert.Equal(["accepts[0]: 'amount' is not a non-negative integer string"], challenge.Unreadable);
    }

    [Fact]
    public void TryDecodeHeader_AcceptsAmount_When78Digits()
    {
        var digits = "1" + new string('0', 77);

        var challenge = TestData.Challenge(TestData.Requirement(amount: $"\"{digits}\""));

        Assert.Equal(BigInteger.Parse(digits, System.Globalization.CultureInfo.InvariantCulture), Assert.Single(challenge.Accepts).Amount);
    }

    [Fact]
    public void TryDecodeHeader_MarksEntryUnreadable_WhenAmountHas79Digits()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: $"\"1{new string('0', 78)}\""));

        Assert.Empty(challenge.Accepts);
        Assert.Single(challenge.Unreadable);
    }

    [Theory]
    [InlineData("10000", 10000)]
    [InlineData("0", 0)]
    [InlineData("\"0\"", 0)]
    [InlineData("\"000123\"", 123)]
    public void TryDecodeHeader_ReadsAmount_WhenIntegerStringOrJsonNumber(string amount, long expected)
    {
        var req = Assert.Single(TestData.Challenge(TestData.Requirement(amount: amount)).Accepts);

        Assert.Equal(new BigInteger(expected), req.Amount);
        Assert.Equal(TestData.Requirement(amount: amount), X402Json.Serialize(req.ToJson()));
    }

    [Theory]
    [InlineData("{\"accepts\":[]}")]
    [InlineData("{\"x402Version\":3,\"accepts\":[]}")]
    [InlineData("{\"x402Version\":0,\"accepts\":[]}")]
    [InlineData("{\"x402Version\":\"two\",\"accepts\":[]}")]
    [InlineData("{\"x402Version\":2.5,\"accepts\":[]}")]
    public void TryDecodeHeader_Fails_WhenVersionMissingOrUnsupported(string text)
    {
        Assert.False(PaymentRequired.TryDecodeHeader(TestData.Base64(text), out var challenge, out var error));
        Assert.Null(challenge);
        Assert.Equal("x402Version is missing or not 1 or 2", error);
    }

    [Theory]
    [InlineData("{\"x402Version\":2}")]
    [InlineData("{\"x402Version\":2,\"accepts\":{}}")]
    [InlineData("{\"x402Version\":2,\"accepts\":null}")]
    public void TryDecodeHeader_Fails_WhenAcceptsMissingOrNotArray(string text)
    {
        Assert.False(PaymentRequired.TryDecodeHeader(TestData.Base64(text), out _, out var error));
        Assert.Equal("'accepts' is missing or not an array", error);
    }

    [Fact]
    public void TryDecodeHeader_Fails_WhenMoreThan64Entries()
    {
        var header = TestData.Base64(TestData.ChallengeJson(Enumerable.Repeat(TestData.Requirement(), 65).ToArray()));

        Assert.False(PaymentRequired.TryDecodeHeader(header, out _, out var error));
        Assert.Equal("'accepts' has more than 64 entries", error);
    }

    [Fact]
    public void TryDecodeHeader_ReadsAll_When64Entries()
    {
        var challenge = TestData.Challenge(Enumerable.Repeat(TestData.Requirement(), 64).ToArray());

        Assert.Equal(64, challenge.Accepts.Count);
    }

    [Fact]
    public void TryDecodeHeader_ReadsSignInOnlyChallenge_WhenAcceptsIsEmpty()
    {
        var challenge = TestData.Challenge();

        Assert.Empty(challenge.Accepts);
        Assert.Empty(challenge.Unreadable);
    }

    [Fact]
    public void TryDecodeHeader_PrefixesHeaderName_WhenNotBase64()
    {
        Assert.False(PaymentRequired.TryDecodeHeader("%%%", out _, out var error));
        Assert.Equal("PAYMENT-REQUIRED header is not base64", error);
    }

    [Fact]
    public void TryDecodeHeader_ReturnsFalse_WhenEntryHasDuplicateKeys()
    {
        var text = TestData.ChallengeJson("{\"scheme\":\"exact\",\"scheme\":\"upto\"}");

        Assert.False(PaymentRequired.TryDecodeHeader(TestData.Base64(text), out var challenge, out var error));
        Assert.Null(challenge);
        Assert.StartsWith("PAYMENT-REQUIRED invalid JSON (", error, StringComparison.Ordinal);
    }

    private const string V1Body =
        "{\"x402Version\":1,\"error\":\"X-PAYMENT header is required\",\"accepts\":[{\"scheme\":\"exact\",\"network\":\"base-sepolia\","
        + "\"maxAmountRequired\":\"10000\",\"resource\":\"https://api.example.com/v1/weather\",\"description\":\"Weather\","
        + "\"mimeType\":\"application/json\",\"payTo\":\"0x209693Bc6afc0C5328bA36FaF03C514EF312287C\",\"maxTimeoutSeconds\":60,"
        + "\"asset\":\"0x036CbD53842c5426634e7929541eC2318f3dCF7e\",\"extra\":{\"name\":\"USDC\",\"version\":\"2\"}}]}";

    [Fact]
    public void TryParseBody_ReadsV1Challenge_AndMapsNetworkName()
    {
        Assert.True(PaymentRequired.TryParseBody(Encoding.UTF8.GetBytes(V1Body), out var challenge, out var error), error);

        Assert.Equal(1, challenge!.X402Version);
        Assert.Equal("X-PAYMENT header is required", challenge.Error);
        Assert.Equal(new ResourceInfo("https://api.example.com/v1/weather", "Weather", "application/json"), challenge.Resource);
        Assert.Null(challenge.RawResource);
        var req = Assert.Single(challenge.Accepts);
        Assert.Equal(1, req.X402Version);
        Assert.Equal("eip155:84532", req.Network);
        Assert.Equal("base-sepolia", req.WireNetwork);
        Assert.Equal(new BigInteger(10000), req.Amount);
        Assert.Equal(60, req.MaxTimeoutSeconds);
        Assert.Equal("https://api.example.com/v1/weather", req.ResourceUrl);
        Assert.Contains("\"network\":\"base-sepolia\"", X402Json.Serialize(req.ToJson()), StringComparison.Ordinal);
    }

    [Fact]
    public void TryParseBody_KeepsUnknownV1NetworkName_AsIs()
    {
        var body = V1Body.Replace("base-sepolia", "some-chain", StringComparison.Ordinal);

        Assert.True(PaymentRequired.TryParseBody(Encoding.UTF8.GetBytes(body), out var challenge, out var error), error);

        var req = Assert.Single(challenge!.Accepts);
        Assert.Equal("some-chain", req.Network);
        Assert.Equal("some-chain", req.WireNetwork);
    }

    [Fact]
    public void TryParseBody_MarksV1EntryUnreadable_WhenOnlyV2AmountGiven()
    {
        var body = V1Body.Replace("maxAmountRequired", "amount", StringComparison.Ordinal);

        Assert.True(PaymentRequired.TryParseBody(Encoding.UTF8.GetBytes(body), out var challenge, out var error), error);

        Assert.Empty(challenge!.Accepts);
        Assert.Equal(["accepts[0]: 'maxAmountRequired' is not a non-negative integer string"], challenge.Unreadable);
    }

    [Fact]
    public void TryParseBody_Fails_WhenBodyIsNotJson()
    {
        Assert.False(PaymentRequired.TryParseBody("<html>402</html>"u8, out var challenge, out var error));
        Assert.Null(challenge);
        Assert.StartsWith("402 body invalid JSON (", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_WritesOfficialKeyOrder_WhenEncoded()
    {
        var req = PaymentRequirements.Create("exact", "eip155:84532", 10000, TestData.UsdcSepolia, TestData.PayTo, 300, new JsonObject { ["name"] = "USDC", ["version"] = "2" });
        var challenge = PaymentRequired.Create("Payment required", new ResourceInfo("https://api.example.com/v1/weather", "Weather", "application/json"), [req], new JsonObject());

        Assert.Equal(TestData.ChallengeJson(TestData.Requirement()).Replace("{\"bazaar\":{\"discoverable\":true}}", "{}", StringComparison.Ordinal), TestData.DecodeBase64(challenge.EncodeHeader()));
    }

    [Fact]
    public void ResourceInfoToJson_WritesAbsentFieldsAsEmpty_LikeOfficialServer()
    {
        Assert.Equal("{\"url\":\"https://a.example/\",\"description\":\"\",\"mimeType\":\"\"}", X402Json.Serialize(new ResourceInfo("https://a.example/", null, null).ToJson()));
    }
}
