using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public partial class ExactEvmSchemeTests
{
    private readonly FakeTimeProvider _time = new(TestData.Now);
    private readonly LocalPrivateKeySigner _signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

    [GeneratedRegex("^0x[0-9a-f]{64}$")]
    private static partial Regex Bytes32Hex();

    [GeneratedRegex("^0x[0-9a-f]{130}$")]
    private static partial Regex Signature65Hex();

    private async Task<(PaymentRequired Challenge, PaymentRequirements Requirement, PaymentPayload Payment)> PayAsync(string? entry = null)
    {
        var challenge = TestData.Challenge(entry ?? TestData.Requirement());
        var requirement = challenge.Accepts[0];
        var payment = await ExactEvmScheme.CreatePaymentAsync(challenge, requirement, _signer, _time);
        return (challenge, requirement, payment);
    }

    private static JsonObject Authorization(PaymentPayload payment) => payment.Payload["authorization"]!.AsObject();

    private static string Signature(PaymentPayload payment) => payment.Payload["signature"]!.GetValue<string>();

    private static PaymentPayload WithAuthorizationField(PaymentPayload payment, string field, string value)
    {
        var inner = (JsonObject)payment.Payload.DeepClone();
        inner["authorization"]![field] = value;
        return payment with { Payload = inner };
    }

    private static PaymentPayload WithSignature(PaymentPayload payment, string signature)
    {
        var inner = (JsonObject)payment.Payload.DeepClone();
        inner["signature"] = signature;
        return payment with { Payload = inner };
    }

    [Fact]
    public async Task CreatePaymentAsync_FillsAuthorization_FromSignerRequirementAndClock()
    {
        var (_, _, payment) = await PayAsync();

        var auth = Authorization(payment);
        Assert.Equal(["from", "to", "value", "validAfter", "validBefore", "nonce"], TestData.Keys(auth));
        Assert.Equal(TestData.Address, auth["from"]!.GetValue<string>());
        Assert.Equal(TestData.PayTo, auth["to"]!.GetValue<string>());
        Assert.Equal("10000", auth["value"]!.GetValue<string>());
        Assert.Equal("0", auth["validAfter"]!.GetValue<string>());
        Assert.Equal((TestData.NowUnix + 300).ToString(CultureInfo.InvariantCulture), auth["validBefore"]!.GetValue<string>());
        Assert.Matches(Bytes32Hex(), auth["nonce"]!.GetValue<string>());
        Assert.Equal(["authorization", "signature"], TestData.Keys(payment.Payload));
    }

    [Fact]
    public async Task CreatePaymentAsync_ChecksumsPayTo_WhenServerWroteItLowerCase()
    {
        var entry = TestData.Requirement(payTo: TestData.PayTo.ToLowerInvariant());

        var (_, requirement, payment) = await PayAsync(entry);

        Assert.Equal(TestData.PayTo, Authorization(payment)["to"]!.GetValue<string>());
        Assert.Equal(entry, X402Json.Serialize(payment.Accepted));
        Assert.True(ExactEvmScheme.TryVerify(payment, requirement, TestData.Now, out _, out var error), error);
    }

    [Fact]
    public async Task CreatePaymentAsync_UsesClockAtCallTime_WhenTimeAdvances()
    {
        _time.Advance(TimeSpan.FromSeconds(90));

        var (_, _, payment) = await PayAsync();

        Assert.Equal((TestData.NowUnix + 90 + 300).ToString(CultureInfo.InvariantCulture), Authorization(payment)["validBefore"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreatePaymentAsync_UsesFreshNonce_OnEveryCall()
    {
        var (_, _, first) = await PayAsync();
        var (_, _, second) = await PayAsync();

        Assert.NotEqual(Authorization(first)["nonce"]!.GetValue<string>(), Authorization(second)["nonce"]!.GetValue<string>());
        Assert.NotEqual(Signature(first), Signature(second));
    }

    [Fact]
    public async Task CreatePaymentAsync_Signs65Bytes_WithV27Or28()
    {
        var (_, _, payment) = await PayAsync();

        var signature = Signature(payment);
        Assert.Matches(Signature65Hex(), signature);
        Assert.Contains(Convert.ToByte(signature[130..], 16), new byte[] { 27, 28 });
    }

    [Fact]
    public async Task CreatePaymentAsync_EchoesAcceptedResourceAndExtensions_Verbatim()
    {
        var entry = TestData.Requirement(asset: TestData.UsdcSepolia.ToLowerInvariant(), extra: "{\"name\":\"USDC\",\"version\":\"2\",\"x\":{\"y\":[1,\"2\"]}}");

        var (challenge, _, payment) = await PayAsync(entry);

        Assert.Equal(2, payment.X402Version);
        Assert.Equal(entry, X402Json.Serialize(payment.Accepted));
        Assert.Equal(TestData.ResourceJson, X402Json.Serialize(payment.Resource!));
        Assert.Equal("{\"bazaar\":{\"discoverable\":true}}", X402Json.Serialize(payment.Extensions!));
        Assert.True(JsonNode.DeepEquals(challenge.Accepts[0].ToJson(), payment.Accepted));
    }

    [Fact]
    public async Task CreatePaymentAsync_WritesHeaderTheServerCanDecodeAndVerify()
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.True(PaymentPayload.TryDecodeHeader(payment.EncodeHeader(), out var received, out var decodeError), decodeError);
        Assert.True(ExactEvmScheme.TryVerify(received!, requirement, TestData.Now, out var authorization, out var error), error);
        Assert.Equal(TestData.Address, authorization!.From);
        Assert.Equal(new BigInteger(10000), authorization.Value);
    }

    [Fact]
    public async Task CreatePaymentAsync_WritesV1Payload_ForV1Challenge()
    {
        const string body = "{\"x402Version\":1,\"accepts\":[{\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"maxAmountRequired\":\"10000\","
            + "\"resource\":\"https://api.example.com/v1/weather\",\"payTo\":\"0x209693Bc6afc0C5328bA36FaF03C514EF312287C\",\"maxTimeoutSeconds\":60,"
            + "\"asset\":\"0x036CbD53842c5426634e7929541eC2318f3dCF7e\",\"extra\":{\"name\":\"USDC\",\"version\":\"2\"}}],\"extensions\":{\"e\":1}}";
        Assert.True(PaymentRequired.TryParseBody(System.Text.Encoding.UTF8.GetBytes(body), out var challenge, out _));
        var requirement = challenge!.Accepts[0];

        var payment = await ExactEvmScheme.CreatePaymentAsync(challenge, requirement, _signer, _time);

        Assert.Equal(1, payment.X402Version);
        Assert.Equal("X-PAYMENT", payment.HeaderName);
        Assert.Null(payment.Resource);
        Assert.Null(payment.Extensions);
        Assert.Equal(["x402Version", "scheme", "network", "payload"], TestData.Keys(payment.ToJson()));
        Assert.Equal("base-sepolia", payment.ToJson()["network"]!.GetValue<string>());
        Assert.Equal((TestData.NowUnix + 60).ToString(CultureInfo.InvariantCulture), Authorization(payment)["validBefore"]!.GetValue<string>());
        Assert.True(ExactEvmScheme.TryVerify(payment, requirement, TestData.Now, out _, out var error), error);
    }

    [Fact]
    public async Task CreatePaymentAsync_Throws_WhenRequirementCannotBePaid()
    {
        var challenge = TestData.Challenge(TestData.Requirement(extra: "{}"));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => ExactEvmScheme.CreatePaymentAsync(challenge, challenge.Accepts[0], _signer, _time));

        Assert.Equal("the requirement's extra lacks the token's EIP-712 name and version", ex.Message);
    }

    [Fact]
    public async Task TryVerify_AcceptsPayment_AsSigned()
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.True(ExactEvmScheme.TryVerify(payment, requirement, TestData.Now, out var authorization, out var error), error);
        Assert.Equal(string.Empty, error);
        Assert.Equal(TestData.Address, authorization!.From);
        Assert.Equal(TestData.PayTo, authorization.To);
        Assert.Equal(0, authorization.ValidAfter);
        Assert.Equal(TestData.NowUnix + 300, authorization.ValidBefore);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenValueTamperedToMatchAnotherPrice()
    {
        var (_, _, payment) = await PayAsync();
        var pricier = Assert.Single(TestData.Challenge(TestData.Requirement(amount: "\"20000\"")).Accepts);

        var tampered = WithAuthorizationField(payment, "value", "20000");

        Assert.False(ExactEvmScheme.TryVerify(tampered, pricier, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Theory]
    [InlineData("9999")]
    [InlineData("10001")]
    public async Task TryVerify_RefusesValue_WhenNotExactlyThePrice(string value)
    {
        // The official facilitator requires value == amount, overpaying included.
        var (_, requirement, payment) = await PayAsync();

        var tampered = WithAuthorizationField(payment, "value", value);

        Assert.False(ExactEvmScheme.TryVerify(tampered, requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_payload_authorization_value_mismatch", error);
    }

    [Fact]
    public async Task TryVerify_RefusesRecipient_WhenAuthorizationPaysSomeoneElse()
    {
        var (_, requirement, payment) = await PayAsync();

        var tampered = WithAuthorizationField(payment, "to", TestData.Address);

        Assert.False(ExactEvmScheme.TryVerify(tampered, requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_recipient_mismatch", error);
    }

    [Fact]
    public async Task TryVerify_RefusesRecipient_WhenCheckedAgainstAnotherRequirement()
    {
        var (_, _, payment) = await PayAsync();
        var other = Assert.Single(TestData.Challenge(TestData.Requirement(payTo: TestData.UsdcBase)).Accepts);

        Assert.False(ExactEvmScheme.TryVerify(payment, other, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_recipient_mismatch", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenDomainDiffers()
    {
        var (_, _, payment) = await PayAsync();
        var otherDomain = Assert.Single(TestData.Challenge(TestData.Requirement(extra: "{\"name\":\"USD Coin\",\"version\":\"2\"}")).Accepts);

        Assert.False(ExactEvmScheme.TryVerify(payment, otherDomain, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Theory]
    [InlineData(295)]
    [InlineData(300)]
    [InlineData(3600)]
    public async Task TryVerify_RefusesWindow_WhenExpiredOrAboutToExpire(int offsetSeconds)
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.False(ExactEvmScheme.TryVerify(payment, requirement, TestData.Now.AddSeconds(offsetSeconds), out _, out var error));
        Assert.Equal("invalid_exact_evm_authorization_window", error);
    }

    [Theory]
    [InlineData(294)]
    [InlineData(-86400)]
    public async Task TryVerify_AcceptsWindow_UntilSixSecondsBeforeValidBefore(int offsetSeconds)
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.True(ExactEvmScheme.TryVerify(payment, requirement, TestData.Now.AddSeconds(offsetSeconds), out _, out var error), error);
    }

    [Fact]
    public async Task TryVerify_RefusesWindow_WhenValidAfterIsInTheFuture()
    {
        var (_, requirement, payment) = await PayAsync();

        var tampered = WithAuthorizationField(payment, "validAfter", (TestData.NowUnix + 1).ToString(CultureInfo.InvariantCulture));

        Assert.False(ExactEvmScheme.TryVerify(tampered, requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_authorization_window", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenValidBeforeExtended()
    {
        var (_, requirement, payment) = await PayAsync();

        var tampered = WithAuthorizationField(payment, "validBefore", (TestData.NowUnix + 86400).ToString(CultureInfo.InvariantCulture));

        Assert.False(ExactEvmScheme.TryVerify(tampered, requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenVIs0Or1()
    {
        var (_, requirement, payment) = await PayAsync();
        var signature = Signature(payment);
        var v = Convert.ToByte(signature[130..], 16);

        var lowV = WithSignature(payment, signature[..130] + (v - 27).ToString("x2", CultureInfo.InvariantCulture));

        Assert.False(ExactEvmScheme.TryVerify(lowV, requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenSignedByAnotherKey()
    {
        var (_, requirement, payment) = await PayAsync();
        var auth = TransferAuthorization.TryRead(Authorization(payment), out var authorization, out _) ? authorization! : throw new InvalidOperationException();
        var forged = await LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey).SignTypedDataAsync(ExactEvmScheme.BuildTypedData(requirement, auth));

        Assert.False(ExactEvmScheme.TryVerify(WithSignature(payment, forged), requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenFromClaimsAnotherAddress()
    {
        var (_, requirement, payment) = await PayAsync();
        var other = LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey);

        var tampered = WithAuthorizationField(payment, "from", other.Address);

        Assert.False(ExactEvmScheme.TryVerify(tampered, requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x1234")]
    [InlineData("0xzz")]
    public async Task TryVerify_RefusesSignature_WhenMalformed(string signature)
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.False(ExactEvmScheme.TryVerify(WithSignature(payment, signature), requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenRAndSAreZero()
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.False(ExactEvmScheme.TryVerify(WithSignature(payment, "0x" + new string('0', 128) + "1b"), requirement, TestData.Now, out _, out var error));
        Assert.Equal("invalid_exact_evm_signature", error);
    }

    [Theory]
    [InlineData("nonce", "0x1234", "authorization nonce is not 32 bytes of hex")]
    [InlineData("from", "alice", "authorization from/to is not an address")]
    [InlineData("value", "1e4", "authorization value/validAfter/validBefore is not an integer")]
    [InlineData("validBefore", "soon", "authorization value/validAfter/validBefore is not an integer")]
    public async Task TryVerify_SaysWhichFieldIsMalformed(string field, string value, string expected)
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.False(ExactEvmScheme.TryVerify(WithAuthorizationField(payment, field, value), requirement, TestData.Now, out var authorization, out var error));
        Assert.Null(authorization);
        Assert.Equal(expected, error);
    }

    [Fact]
    public async Task TryVerify_Refuses_WhenAuthorizationMissing()
    {
        var (_, requirement, payment) = await PayAsync();

        Assert.False(ExactEvmScheme.TryVerify(payment with { Payload = new JsonObject() }, requirement, TestData.Now, out _, out var error));
        Assert.Equal("authorization is missing", error);
    }

    [Fact]
    public void CanPay_ReturnsTrue_ForOfficialRequirement()
    {
        Assert.True(ExactEvmScheme.CanPay(Assert.Single(TestData.Challenge(TestData.Requirement()).Accepts), out var error));
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public void BuildTypedData_Throws_WhenNetworkIsNotEvm()
    {
        var requirement = Assert.Single(TestData.Challenge(TestData.Requirement(network: "solana:mainnet")).Accepts);
        var authorization = new TransferAuthorization(TestData.Address, TestData.PayTo, 1, 0, 1, "0x" + new string('1', 64));

        var ex = Assert.Throws<InvalidOperationException>(() => ExactEvmScheme.BuildTypedData(requirement, authorization));
        Assert.Equal("network 'solana:mainnet' is not an eip155 network", ex.Message);
    }
}
