using System.Text.Json.Nodes;
using X402Orleans.Payments.Siwx;

namespace X402Orleans.Payments.Tests;

public class SiwxChallengeTests
{
    // Shaped like the official server's extensions["sign-in-with-x"] (see x402-wire-notes.md).
    internal const string ExtensionJson =
        "{\"info\":{\"domain\":\"127.0.0.1:14021\",\"uri\":\"http://127.0.0.1:14021/api/v1/weather\",\"version\":\"1\","
        + "\"nonce\":\"2bffc0a3f49e2363c62211fe88917d84\",\"issuedAt\":\"2026-11-24T21:35:11.892Z\",\"expirationTime\":\"2026-11-24T21:40:11.892Z\","
        + "\"resources\":[\"http://127.0.0.1:14021/api/v1/weather\"],\"statement\":\"Sign in to access content you already paid for\"},"
        + "\"supportedChains\":[{\"chainId\":\"eip155:84532\",\"type\":\"eip191\"}],"
        + "\"schema\":{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\"}}";

    private static JsonObject Extensions(string extension) => new() { [SiwxChallenge.ExtensionKey] = JsonNode.Parse(extension) };

    [Fact]
    public void TryRead_ReadsInfoAndChains_FromOfficialExtension()
    {
        Assert.True(SiwxChallenge.TryRead(Extensions(ExtensionJson), out var challenge, out var error), error);

        var info = challenge!.Info;
        Assert.Equal("127.0.0.1:14021", info.Domain);
        Assert.Equal("http://127.0.0.1:14021/api/v1/weather", info.Uri);
        Assert.Equal("1", info.Version);
        Assert.Equal("2bffc0a3f49e2363c62211fe88917d84", info.Nonce);
        Assert.Equal("2026-11-24T21:35:11.892Z", info.IssuedAt);
        Assert.Equal("2026-11-24T21:40:11.892Z", info.ExpirationTime);
        Assert.Null(info.NotBefore);
        Assert.Null(info.RequestId);
        Assert.Equal(["http://127.0.0.1:14021/api/v1/weather"], info.Resources!);
        Assert.Equal("Sign in to access content you already paid for", info.Statement);
        Assert.Equal([new SiwxChain("eip155:84532", "eip191")], challenge.SupportedChains);
    }

    [Fact]
    public void TryRead_ReadsOptionalFields_WhenPresent()
    {
        const string ext = "{\"info\":{\"domain\":\"a.example\",\"uri\":\"https://a.example/\",\"nonce\":\"n1234567\",\"issuedAt\":\"t\","
            + "\"notBefore\":\"nb\",\"requestId\":\"r-1\"},\"supportedChains\":[]}";

        Assert.True(SiwxChallenge.TryRead(Extensions(ext), out var challenge, out var error), error);

        Assert.Equal("1", challenge!.Info.Version);
        Assert.Equal("nb", challenge.Info.NotBefore);
        Assert.Equal("r-1", challenge.Info.RequestId);
        Assert.Null(challenge.Info.Resources);
        Assert.Null(challenge.Info.Statement);
        Assert.Null(challenge.Info.ExpirationTime);
        Assert.Empty(challenge.SupportedChains);
    }

    [Fact]
    public void TryRead_SkipsMalformedChainsAndResources()
    {
        const string ext = "{\"info\":{\"domain\":\"a.example\",\"uri\":\"https://a.example/\",\"nonce\":\"n1234567\",\"issuedAt\":\"t\","
            + "\"resources\":[\"https://a.example/x\",42,null]},"
            + "\"supportedChains\":[{\"chainId\":\"eip155:8453\"},\"eip155:1\",{\"chainId\":\"solana:x\",\"type\":\"ed25519\"},{\"chainId\":\"eip155:84532\",\"type\":\"eip191\"}]}";

        Assert.True(SiwxChallenge.TryRead(Extensions(ext), out var challenge, out var error), error);

        Assert.Equal(["https://a.example/x"], challenge!.Info.Resources!);
        Assert.Equal([new SiwxChain("solana:x", "ed25519"), new SiwxChain("eip155:84532", "eip191")], challenge.SupportedChains);
    }

    [Fact]
    public void TryRead_Fails_WhenServerDoesNotOfferIt()
    {
        Assert.False(SiwxChallenge.TryRead(null, out var challenge, out var error));
        Assert.Null(challenge);
        Assert.Equal("the server does not offer sign-in-with-x", error);

        Assert.False(SiwxChallenge.TryRead(new JsonObject { ["bazaar"] = new JsonObject() }, out _, out error));
        Assert.Equal("the server does not offer sign-in-with-x", error);
    }

    [Fact]
    public void TryRead_Fails_WhenInfoMissing()
    {
        Assert.False(SiwxChallenge.TryRead(Extensions("{\"supportedChains\":[]}"), out _, out var error));
        Assert.Equal("sign-in-with-x extension has no info", error);
    }

    [Theory]
    [InlineData("{\"uri\":\"https://a.example/\",\"nonce\":\"n\",\"issuedAt\":\"t\"}")]
    [InlineData("{\"domain\":\"a.example\",\"nonce\":\"n\",\"issuedAt\":\"t\"}")]
    [InlineData("{\"domain\":\"a.example\",\"uri\":\"https://a.example/\",\"issuedAt\":\"t\"}")]
    [InlineData("{\"domain\":\"a.example\",\"uri\":\"https://a.example/\",\"nonce\":\"n\"}")]
    [InlineData("{\"domain\":\"\",\"uri\":\"https://a.example/\",\"nonce\":\"n\",\"issuedAt\":\"t\"}")]
    [InlineData("{\"domain\":1,\"uri\":\"https://a.example/\",\"nonce\":\"n\",\"issuedAt\":\"t\"}")]
    public void TryRead_Fails_WhenRequiredInfoFieldMissing(string info)
    {
        Assert.False(SiwxChallenge.TryRead(Extensions("{\"info\":" + info + "}"), out _, out var error));
        Assert.Equal("sign-in-with-x info lacks domain, uri, nonce or issuedAt", error);
    }

    [Fact]
    public void ToJson_RoundTripsThroughTryRead()
    {
        Assert.True(SiwxChallenge.TryRead(Extensions(ExtensionJson), out var original, out _));

        Assert.True(SiwxChallenge.TryRead(new JsonObject { [SiwxChallenge.ExtensionKey] = original!.ToJson() }, out var copy, out var error), error);

        Assert.Equal(original.Info with { Resources = null }, copy!.Info with { Resources = null });
        Assert.Equal(original.Info.Resources!, copy.Info.Resources!);
        Assert.Equal(original.SupportedChains, copy.SupportedChains);
    }
}
