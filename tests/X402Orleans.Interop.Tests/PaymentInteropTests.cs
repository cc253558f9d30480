using System.Globalization;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Wire;
using static X402Orleans.Interop.Tests.Interop;
using static X402Orleans.Interop.Tests.OfficialServerFixture;

namespace X402Orleans.Interop.Tests;

/// <summary>Our <c>PAYMENT-SIGNATURE</c> for official 402s, judged by the official server/facilitator and compared with the official client's.</summary>
[Collection(OfficialCollection.Name)]
public sealed class PaymentInteropTests(OfficialServerFixture server)
{
    private static readonly PaymentPolicy Policy = PaymentPolicy.Default.WithMaxPayment("0.05") with
    {
        Assets = [AssetInfo.UsdcBase, AssetInfo.UsdcBaseSepolia, new AssetInfo("eip155:84532", CustomAsset, 6, "TST")],
    };

    private async Task<(PaymentRequired Challenge, PaymentPayload Payment)> PayAsync(string path)
    {
        Assert.True(PaymentRequired.TryDecodeHeader(server.Header(path), out var challenge, out var error), error);
        var selection = RequirementSelector.Select(challenge!, Policy);
        Assert.True(selection.Succeeded, selection.Reason);
        var payment = await ExactEvmScheme.CreatePaymentAsync(challenge!, selection.Requirement!, Signer(), TimeProvider.System);
        return (challenge!, payment);
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Custom)]
    [InlineData(Mainnet)]
    public async Task CreatePaymentAsync_IsAcceptedByOfficialVerifier_ForOfficialChallenge(string path)
    {
        var (_, payment) = await PayAsync(path);

        var verdict = await OfficialVerifyAsync(payment.EncodeHeader(), server.Header(path));

        Assert.True(Bool(verdict, "matched"), Errors(verdict));
        Assert.True(Bool(verdict, "extensionsValid"), Errors(verdict));
        Assert.True(Bool(verdict, "signatureValid"), Errors(verdict));
        Assert.True(Bool(verdict, "valid"), Errors(verdict));
        Assert.Empty(verdict["errors"]!.AsArray());
        Assert.Equal(Address, verdict["recovered"]!.GetValue<string>());
        Assert.Equal(Address, verdict["verifyResponse"]!["payer"]!.GetValue<string>());
        Assert.Contains(verdict["v"]!.GetValue<int>(), new[] { 27, 28 });
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Custom)]
    [InlineData(Mainnet)]
    public async Task EncodeHeader_HasOfficialClientShapeAndValues_ExceptNonceSignatureAndValidBefore(string path)
    {
        var official = (await OfficialPayAsync(server.Header(path)))["payload"]!.AsObject();
        var (_, payment) = await PayAsync(path);

        var ours = DecodeBase64Json(payment.EncodeHeader());

        Assert.Equal(Shape(official), Shape(ours));
        var officialBefore = long.Parse(official["payload"]!["authorization"]!["validBefore"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var ourBefore = long.Parse(ours["payload"]!["authorization"]!["validBefore"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        // Ours is signed after the official client's, so the window ends the same second or a little later.
        Assert.InRange(ourBefore - officialBefore, -1, 10);
        foreach (var json in new[] { official, ours })
        {
            var authorization = json["payload"]!["authorization"]!.AsObject();
            Assert.Matches("^0x[0-9a-f]{64}$", authorization["nonce"]!.GetValue<string>());
            Assert.Matches("^0x[0-9a-f]{128}(1b|1c)$", json["payload"]!["signature"]!.GetValue<string>());
            authorization.Remove("nonce");
            authorization.Remove("validBefore");
            json["payload"]!.AsObject().Remove("signature");
        }

        AssertJsonEqual(official, ours);
    }

    [Theory]
    [InlineData("payTo lower-cased")]
    [InlineData("maxTimeoutSeconds as string")]
    public async Task OfficialVerifier_RefusesPayment_WhenAcceptedIsNotEchoedVerbatim(string change)
    {
        var (challenge, payment) = await PayAsync(Weather);
        var accepted = (JsonObject)payment.Accepted.DeepClone();
        if (change == "payTo lower-cased")
        {
            accepted["payTo"] = challenge.Accepts[0].PayTo.ToLowerInvariant();
        }
        else
        {
            accepted["maxTimeoutSeconds"] = challenge.Accepts[0].MaxTimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        }

        var verdict = await OfficialVerifyAsync((payment with { Accepted = accepted }).EncodeHeader(), server.Header(Weather));

        Assert.False(Bool(verdict, "matched"));
        Assert.False(Bool(verdict, "valid"));
        Assert.Contains("No matching payment requirements", verdict["errors"]!.AsArray().Select(e => e!.GetValue<string>()));
        // The signature itself is still good: only the echo of the requirement differs.
        Assert.True(Bool(verdict, "signatureValid"), Errors(verdict));
    }
}
