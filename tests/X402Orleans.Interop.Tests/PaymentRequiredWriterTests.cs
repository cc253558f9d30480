using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;
using static X402Orleans.Interop.Tests.Interop;
using static X402Orleans.Interop.Tests.OfficialServerFixture;

namespace X402Orleans.Interop.Tests;

/// <summary>Our <c>PAYMENT-REQUIRED</c> writer (<see cref="PaymentRequired.Create"/>), read and paid by the official packages.</summary>
[Collection(OfficialCollection.Name)]
public sealed class PaymentRequiredWriterTests(OfficialServerFixture server)
{
    private static string IsoMillis(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A 402 built only with our API: one requirement and a SIWX challenge using every info field.</summary>
    private static PaymentRequired OurChallenge()
    {
        const string url = "http://127.0.0.1:4021/api/v1/report?format=json";
        var now = DateTimeOffset.UtcNow;
        var requirement = PaymentRequirements.Create("exact", "eip155:84532", new BigInteger(2500), UsdcBaseSepolia, PayTo, 60, new JsonObject { ["name"] = "USDC", ["version"] = "2" });
        var siwx = new SiwxChallenge(
            new SiwxInfo("127.0.0.1:4021", url, "1", "0123456789abcdef0123456789abcdef", IsoMillis(now.AddSeconds(-2)), IsoMillis(now.AddMinutes(5)), IsoMillis(now.AddSeconds(-2)), "req-9", [url], "Sign in to reuse your report"),
            [new SiwxChain("eip155:84532", "eip191")]);
        return PaymentRequired.Create(
            "Payment required",
            new ResourceInfo(url, "Quarterly report — “final”", "application/json"),
            [requirement],
            new JsonObject { [SiwxChallenge.ExtensionKey] = siwx.ToJson() });
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Premium)]
    [InlineData(Custom)]
    [InlineData(Mainnet)]
    public void EncodeHeader_EqualsOfficialHeader_WhenBuiltFromTheSameFields(string path)
    {
        Assert.True(PaymentRequired.TryDecodeHeader(server.Header(path), out var official, out var error), error);
        var entry = official!.Accepts[0];
        JsonObject? extensions = null;
        if (SiwxChallenge.TryRead(official.Extensions, out var siwx, out _))
        {
            // Our writer leaves out the extension's JSON schema (clients do not need it); add the official one to compare bytes.
            var extension = siwx!.ToJson();
            extension["schema"] = official.Extensions![SiwxChallenge.ExtensionKey]!["schema"]!.DeepClone();
            extensions = new JsonObject { [SiwxChallenge.ExtensionKey] = extension };
        }

        var ours = PaymentRequired.Create(
            "Payment required",
            new ResourceInfo(server.Url(path), NullIfEmpty(official.Resource!.Description), NullIfEmpty(official.Resource.MimeType)),
            [PaymentRequirements.Create(entry.Scheme, entry.Network, entry.Amount, entry.Asset, entry.PayTo, entry.MaxTimeoutSeconds, entry.Extra)],
            extensions);

        Assert.Equal(server.Header(path), ours.EncodeHeader());
    }

    [Fact]
    public async Task EncodeHeader_IsReadByOfficialDecoder_WithIdenticalContent()
    {
        var ours = OurChallenge();
        var header = ours.EncodeHeader();
        var officialPayment = await OfficialPayAsync(header);

        var verdict = await OfficialVerifyAsync(officialPayment["paymentSignatureHeader"]!.GetValue<string>(), header);

        var decoded = verdict["paymentRequired"]!.AsObject();
        Assert.Equal(Shape(ours.ToJson()), Shape(decoded));
        AssertJsonEqual(ours.ToJson(), decoded);
        Assert.Equal(["domain", "uri", "version", "nonce", "issuedAt", "resources", "expirationTime", "notBefore", "requestId", "statement"], Keys(decoded["extensions"]![SiwxChallenge.ExtensionKey]!["info"]));
    }

    [Fact]
    public async Task EncodeHeader_IsPaidByOfficialClient_AndThatPaymentVerifies()
    {
        var ours = OurChallenge();
        var header = ours.EncodeHeader();

        var official = await OfficialPayAsync(header);
        var verdict = await OfficialVerifyAsync(official["paymentSignatureHeader"]!.GetValue<string>(), header);

        var payload = official["payload"]!.AsObject();
        AssertJsonEqual(ours.Accepts[0].ToJson(), payload["accepted"]);
        AssertJsonEqual(ours.ToJson()["resource"], payload["resource"]);
        AssertJsonEqual(ours.Extensions, payload["extensions"]);
        Assert.Equal("2500", payload["payload"]!["authorization"]!["value"]!.GetValue<string>());
        Assert.True(Bool(verdict, "matched"), Errors(verdict));
        Assert.True(Bool(verdict, "extensionsValid"), Errors(verdict));
        Assert.True(Bool(verdict, "valid"), Errors(verdict));
    }

    [Fact]
    public async Task SiwxChallengeToJson_IsSignedByOfficialClient_AndVerifiedByBothSides()
    {
        var ours = OurChallenge();
        var extension = ours.Extensions![SiwxChallenge.ExtensionKey]!.AsObject();

        var signed = await NodeScript.RunAsync("siwx.mjs", new JsonObject { ["op"] = "sign", ["privateKey"] = PrivateKey, ["extension"] = extension.DeepClone() });
        Assert.True(signed["header"] is JsonValue, $"the official client refused: {signed["error"]}");
        var proof = signed["header"]!.GetValue<string>();
        var verdict = await NodeScript.RunAsync("siwx.mjs", new JsonObject { ["op"] = "verify", ["header"] = proof, ["expectedOrigin"] = "http://127.0.0.1:4021" });

        Assert.True(Bool(verdict, "valid"), Errors(verdict));
        Assert.Equal("req-9", signed["decoded"]!["requestId"]!.GetValue<string>());
        Assert.True(
            SiwxSigner.TryVerify(proof, "127.0.0.1:4021", new Uri("http://127.0.0.1:4021"), DateTimeOffset.UtcNow, SiwxSigner.DefaultMaxAge, out var address, out _, out var error),
            error);
        Assert.Equal(Address, address);
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
