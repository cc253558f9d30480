using System.Globalization;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;
using static X402Orleans.Interop.Tests.Interop;
using static X402Orleans.Interop.Tests.OfficialServerFixture;

namespace X402Orleans.Interop.Tests;

/// <summary>sign-in-with-x: our EIP-4361 text, proofs and verification against <c>@x402/extensions</c>.</summary>
[Collection(OfficialCollection.Name)]
public sealed class SiwxInteropTests(OfficialServerFixture server)
{
    private const string Base = """
        "domain":"127.0.0.1:4021","uri":"http://127.0.0.1:4021/api/v1/weather?city=Z%C3%BCrich","version":"1","nonce":"2bffc0a3f49e2363c62211fe88917d84","issuedAt":"2026-11-24T21:35:11.892Z"
        """;

    /// <summary>Info variants (JSON members after the base ones), the address given, and the chain.</summary>
    public static TheoryData<string, string, string, string> MessageVariants => new()
    {
        { "minimal", "", Address, "eip155:84532" },
        { "statement", ",\"statement\":\"Sign in to access content you already paid for\"", Address, "eip155:84532" },
        { "empty statement", ",\"statement\":\"\"", Address, "eip155:84532" },
        { "expirationTime", ",\"expirationTime\":\"2026-11-24T21:40:11.892Z\"", Address, "eip155:84532" },
        { "notBefore", ",\"notBefore\":\"2026-11-24T21:35:00Z\"", Address, "eip155:84532" },
        { "requestId", ",\"requestId\":\"req-7f3a\"", Address, "eip155:84532" },
        { "empty requestId", ",\"requestId\":\"\"", Address, "eip155:84532" },
        { "empty resources", ",\"resources\":[]", Address, "eip155:84532" },
        { "one resource", ",\"resources\":[\"http://127.0.0.1:4021/api/v1/weather\"]", Address, "eip155:84532" },
        { "several resources", ",\"resources\":[\"http://127.0.0.1:4021/api/v1/weather\",\"ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\",\"https://example.com/my-web2-claim.json\"]", Address, "eip155:84532" },
        { "lower-case address", ",\"statement\":\"Hi\"", Address.ToLowerInvariant(), "eip155:84532" },
        {
            "everything, Base mainnet",
            ",\"statement\":\"I accept the Terms: https://example.com/tos\",\"expirationTime\":\"2026-11-25T21:35:11Z\",\"notBefore\":\"2026-11-24T00:00:00.000+01:00\",\"requestId\":\"42\",\"resources\":[\"https://example.com/a\",\"https://example.com/b\"]",
            Address.ToLowerInvariant(),
            "eip155:8453"
        },
    };

    private static SiwxChallenge Challenge(string infoJson, params (string ChainId, string Type)[] chains)
    {
        var extensions = new JsonObject
        {
            [SiwxChallenge.ExtensionKey] = new JsonObject
            {
                ["info"] = JsonNode.Parse(infoJson),
                ["supportedChains"] = new JsonArray(chains.Select(c => (JsonNode)new JsonObject { ["chainId"] = c.ChainId, ["type"] = c.Type }).ToArray()),
            },
        };
        Assert.True(SiwxChallenge.TryRead(extensions, out var challenge, out var error), error);
        return challenge!;
    }

    private static string IsoMillis(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A challenge issued just now with every optional field, on an origin of its own.</summary>
    private static JsonObject FreshFullExtension()
    {
        var now = DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["info"] = new JsonObject
            {
                ["domain"] = "api.example.com",
                ["uri"] = "https://api.example.com/v1/data",
                ["version"] = "1",
                ["nonce"] = "9f86d081884c7d659a2feaa0c55ad015",
                ["issuedAt"] = IsoMillis(now.AddSeconds(-5)),
                ["resources"] = new JsonArray("https://api.example.com/v1/data", "https://api.example.com/v1/other"),
                ["expirationTime"] = IsoMillis(now.AddMinutes(5)),
                ["notBefore"] = IsoMillis(now.AddSeconds(-5)),
                ["requestId"] = "req-1",
                ["statement"] = "Sign in to reuse what you paid for",
            },
            ["supportedChains"] = new JsonArray(
                new JsonObject { ["chainId"] = "eip155:8453", ["type"] = "eip191" },
                new JsonObject { ["chainId"] = "eip155:84532", ["type"] = "eip191" }),
        };
    }

    /// <summary>The sign-in-with-x extension of a route, as the official server sent it, or a fresh full one.</summary>
    private JsonObject Extension(string source) => source == "fresh"
        ? FreshFullExtension()
        : server.Json(source)["extensions"]![SiwxChallenge.ExtensionKey]!.AsObject();

    private static SiwxChallenge Read(JsonObject extension)
    {
        Assert.True(SiwxChallenge.TryRead(new JsonObject { [SiwxChallenge.ExtensionKey] = extension.DeepClone() }, out var challenge, out var error), error);
        return challenge!;
    }

    private static Task<JsonObject> OfficialSignAsync(JsonObject extension) =>
        NodeScript.RunAsync("siwx.mjs", new JsonObject { ["op"] = "sign", ["privateKey"] = PrivateKey, ["extension"] = extension.DeepClone() });

    private static Task<JsonObject> OfficialVerifyAsync(string header, string expectedOrigin) =>
        NodeScript.RunAsync("siwx.mjs", new JsonObject { ["op"] = "verify", ["header"] = header, ["expectedOrigin"] = expectedOrigin });

    [Theory]
    [MemberData(nameof(MessageVariants))]
    public async Task Build_EqualsOfficialMessage_ForInfoVariant(string variant, string extraMembers, string address, string chainId)
    {
        var infoJson = "{" + Base + extraMembers + "}";
        var official = await NodeScript.RunAsync("siwx.mjs", new JsonObject
        {
            ["op"] = "message",
            ["info"] = JsonNode.Parse(infoJson),
            ["address"] = address,
            ["chainId"] = chainId,
        });
        Assert.True(official["message"] is JsonValue, $"{variant}: the official builder refused: {official["error"]}");

        var ours = SiwxMessage.Build(Challenge(infoJson).Info, address, chainId);

        Assert.Equal(official["message"]!.GetValue<string>(), ours);
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Custom)]
    [InlineData("fresh")]
    public async Task SignAsync_ProofIsAcceptedByOfficialVerifier(string source)
    {
        var challenge = Read(Extension(source));
        var origin = new Uri(challenge.Info.Uri).GetLeftPart(UriPartial.Authority);

        var proof = await SiwxSigner.SignAsync(challenge, Signer(), new Uri(challenge.Info.Uri));
        var verdict = await OfficialVerifyAsync(proof.HeaderValue, origin);

        Assert.True(Bool(verdict, "valid"), Errors(verdict));
        Assert.Equal(Address, verdict["address"]!.GetValue<string>());
        Assert.Equal(SiwxMessage.Build(challenge.Info, Address, proof.ChainId), verdict["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Custom)]
    [InlineData("fresh")]
    public async Task SignAsync_HeaderEqualsOfficialClientHeader_ForSameChallenge(string source)
    {
        var extension = Extension(source);
        var official = await OfficialSignAsync(extension);
        Assert.True(official["header"] is JsonValue, $"the official client refused: {official["error"]}");

        var proof = await SiwxSigner.SignAsync(Read(extension), Signer(), new Uri(extension["info"]!["uri"]!.GetValue<string>()));

        var ours = DecodeBase64Json(proof.HeaderValue);
        Assert.Equal(Keys(official["decoded"]), Keys(ours));
        AssertJsonEqual(official["decoded"], ours);
        // RFC 6979 signatures are deterministic, so the whole header is the same bytes.
        Assert.Equal(official["header"]!.GetValue<string>(), proof.HeaderValue);
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Custom)]
    [InlineData("fresh")]
    public async Task TryVerify_AcceptsOfficialClientProof(string source)
    {
        var extension = Extension(source);
        var official = await OfficialSignAsync(extension);
        Assert.True(official["header"] is JsonValue, $"the official client refused: {official["error"]}");
        var info = Read(extension).Info;
        var uri = new Uri(info.Uri);

        var ok = SiwxSigner.TryVerify(official["header"]!.GetValue<string>(), uri.Authority, uri, DateTimeOffset.UtcNow, SiwxSigner.DefaultMaxAge, out var address, out var nonce, out var error);

        Assert.True(ok, error);
        Assert.Equal(Address, address);
        Assert.Equal(info.Nonce, nonce);
    }

    [Fact]
    public async Task TryVerify_RefusesOfficialClientProof_WhenDomainIsAnotherHost_LikeOfficialVerifier()
    {
        var official = await OfficialSignAsync(Extension(Weather));
        var header = official["header"]!.GetValue<string>();
        var otherOrigin = $"http://localhost:{server.Port}";

        var ok = SiwxSigner.TryVerify(header, $"localhost:{server.Port}", new Uri(otherOrigin), DateTimeOffset.UtcNow, SiwxSigner.DefaultMaxAge, out var address, out _, out var error);
        var verdict = await OfficialVerifyAsync(header, otherOrigin);

        Assert.False(ok);
        Assert.Null(address);
        Assert.Equal("invalid_siwx_domain_mismatch", error);
        Assert.False(Bool(verdict, "valid"));
        Assert.StartsWith("invalid_siwx_domain_mismatch:", verdict["errors"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
