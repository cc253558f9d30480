using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Wire;
using static X402Orleans.Interop.Tests.Interop;

namespace X402Orleans.Interop.Tests;

/// <summary>
/// Our <c>upto</c> payment against the official @x402/evm 2.27.0 upto client run deterministically (same clock, same Permit2 nonce,
/// same chain reads): the <c>PAYMENT-SIGNATURE</c> headers are byte-identical, signatures included; and the official upto server and
/// facilitator (offline: signature and field checks, no chain simulation) accept ours. Runs <c>official-upto.mjs</c>.
/// </summary>
public sealed class UptoInteropTests
{
    private const string Facilitator = "0xfAC1FAC1faC1fac1FAc1FAC1FAC1faC1faC1fac1";
    private const string Usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    private const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    private const long NowUnix = 1767225600; // 2026-01-01T00:00:00Z
    private const string Nonce = "98765432109876543210987654321098765432109876543210";
    private const string PermitNonce = "3";

    // What @x402/extensions' declareEip2612GasSponsoringExtension() declares (schema shortened to its required list).
    private const string DeclaredEip2612 = "\"eip2612GasSponsoring\":{\"info\":{\"description\":\"The facilitator accepts EIP-2612 gasless Permit to `Permit2` canonical contract.\",\"version\":\"1\"},"
        + "\"schema\":{\"type\":\"object\",\"required\":[\"from\",\"asset\",\"spender\",\"amount\",\"nonce\",\"deadline\",\"signature\",\"version\"]}}";

    private static string PaymentRequiredHeader(string extensions, string amount = "50000", string asset = Usdc) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(
        "{\"x402Version\":2,\"error\":\"Payment required\",\"resource\":{\"url\":\"https://api.example.com/v1/generate\",\"description\":\"Generation\",\"mimeType\":\"application/json\"},"
        + $"\"accepts\":[{{\"scheme\":\"upto\",\"network\":\"eip155:84532\",\"amount\":\"{amount}\",\"asset\":\"{asset}\",\"payTo\":\"{PayTo}\",\"maxTimeoutSeconds\":300,"
        + $"\"extra\":{{\"name\":\"USDC\",\"version\":\"2\",\"facilitatorAddress\":\"{Facilitator}\"}}}}],\"extensions\":{{{extensions}}}}}"));

    private static async Task<PaymentPayload> OursAsync(string header, BigInteger? allowance)
    {
        Assert.True(PaymentRequired.TryDecodeHeader(header, out var challenge, out var error), error);
        var options = new UptoPaymentOptions
        {
            NonceFactory = () => BigInteger.Parse(Nonce, CultureInfo.InvariantCulture),
            Tokens = allowance is null ? null : new FixedPermit2Tokens(allowance.Value, BigInteger.Parse(PermitNonce, CultureInfo.InvariantCulture)),
        };
        return await UptoEvmScheme.CreatePaymentAsync(challenge!, challenge!.Accepts[0], Signer(), new FixedTime(), options);
    }

    private static Task<JsonObject> OfficialAsync(string header, BigInteger? allowance) =>
        NodeScript.RunAsync("official-upto.mjs", new JsonObject
        {
            ["op"] = "pay",
            ["privateKey"] = PrivateKey,
            ["paymentRequiredHeader"] = header,
            ["nowMs"] = NowUnix * 1000,
            ["nonce"] = Nonce,
            ["chain"] = allowance is null ? null : new JsonObject { ["allowance"] = allowance.Value.ToString(CultureInfo.InvariantCulture), ["permitNonce"] = PermitNonce },
        });

    private static Task<JsonObject> OfficialVerifyAsync(string paymentSignatureHeader, string paymentRequiredHeader, long nowUnix = NowUnix) =>
        NodeScript.RunAsync("official-upto.mjs", new JsonObject
        {
            ["op"] = "verify",
            ["paymentSignatureHeader"] = paymentSignatureHeader,
            ["paymentRequiredHeader"] = paymentRequiredHeader,
            ["nowMs"] = nowUnix * 1000,
        });

    public static TheoryData<string, string?> Cases => new()
    {
        // 402 extensions, allowance Permit2 already has (null = no chain reader on either side)
        { "\"bazaar\":{\"discoverable\":true}", null },
        { DeclaredEip2612, null },
        { DeclaredEip2612, "0" },
        { DeclaredEip2612, "50000" },
        { "\"bazaar\":{\"discoverable\":true}," + DeclaredEip2612, "49999" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EncodeHeader_IsByteIdenticalToOfficialClient_ForSameClockNonceAndChain(string extensions, string? allowanceText)
    {
        var allowance = allowanceText is null ? (BigInteger?)null : BigInteger.Parse(allowanceText, CultureInfo.InvariantCulture);
        var header = PaymentRequiredHeader(extensions);

        var official = await OfficialAsync(header, allowance);
        var ours = await OursAsync(header, allowance);

        AssertJsonEqual(official["payload"], DecodeBase64Json(ours.EncodeHeader()));
        Assert.Equal(official["paymentSignatureHeader"]!.GetValue<string>(), ours.EncodeHeader());
        var signsPermit = allowance is not null && allowance < 50000 && extensions.Contains("eip2612", StringComparison.Ordinal);
        Assert.Equal(signsPermit, ours.Extensions?["eip2612GasSponsoring"]?["info"]?["signature"] is not null);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task OfficialVerifier_AcceptsOurPayment_WithAndWithoutEip2612Permit(string? allowanceText)
    {
        var allowance = allowanceText is null ? (BigInteger?)null : BigInteger.Parse(allowanceText, CultureInfo.InvariantCulture);
        var header = PaymentRequiredHeader(DeclaredEip2612);
        var ours = await OursAsync(header, allowance);

        var verdict = await OfficialVerifyAsync(ours.EncodeHeader(), header);

        Assert.True(Bool(verdict, "valid"), Errors(verdict));
        Assert.Empty(verdict["errors"]!.AsArray());
        Assert.Equal(Address, verdict["verifyResponse"]!["payer"]!.GetValue<string>());
        if (allowance is null)
        {
            Assert.Null(verdict["permit"]);
        }
        else
        {
            Assert.True(Bool(verdict["permit"]!.AsObject(), "signatureValid"));
            Assert.True(Bool(verdict["permit"]!.AsObject(), "amountMatches"));
        }
    }

    [Fact]
    public async Task OfficialVerifier_RefusesOurPayment_AfterItsDeadline()
    {
        var header = PaymentRequiredHeader("\"bazaar\":{\"discoverable\":true}");
        var ours = await OursAsync(header, null);

        var verdict = await OfficialVerifyAsync(ours.EncodeHeader(), header, NowUnix + 300);

        Assert.False(Bool(verdict, "valid"));
        Assert.Equal("permit2_deadline_expired", verdict["verifyResponse"]!["invalidReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreatePaymentAsync_RefusesWithApprovalHint_WhereOfficialClientWouldSignUnlimitedApproval()
    {
        var header = PaymentRequiredHeader("\"erc20ApprovalGasSponsoring\":{\"info\":{\"description\":\"d\",\"version\":\"1\"}}");

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => OursAsync(header, BigInteger.Zero));

        Assert.Contains($"approve Permit2 0x000000000022D473030F116dDEE9F6B43aC78BA3 for {Usdc} once", ex.Message, StringComparison.Ordinal);
    }

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeSeconds(NowUnix);
    }
}
