using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;
using static X402Orleans.Interop.Tests.OfficialServerFixture;

namespace X402Orleans.Interop.Tests;

/// <summary>The official server's <c>PAYMENT-REQUIRED</c> headers, read by our decoder, selector and SIWX reader.</summary>
[Collection(OfficialCollection.Name)]
public sealed class OfficialChallengeTests(OfficialServerFixture server)
{
    private PaymentRequired Decode(string path)
    {
        Assert.True(PaymentRequired.TryDecodeHeader(server.Header(path), out var challenge, out var error), error);
        return challenge!;
    }

    [Fact]
    public void OfficialServer_Answers402WithHeader_ForEveryRoute()
    {
        foreach (var path in new[] { Weather, Premium, Custom, Mainnet })
        {
            var response = server.Response(path);
            Assert.Equal(402, response["status"]!.GetValue<int>());
            Assert.False(string.IsNullOrEmpty(server.Header(path)), $"{path} has no PAYMENT-REQUIRED header");
        }
    }

    [Theory]
    [InlineData(Weather, "eip155:84532", "1000", UsdcBaseSepolia, 300, "USDC", "2", "Weather", "application/json")]
    [InlineData(Premium, "eip155:84532", "50000", UsdcBaseSepolia, 300, "USDC", "2", "", "")]
    [InlineData(Custom, "eip155:84532", "12345", CustomAsset, 120, CustomTokenName, "1", "", "")]
    [InlineData(Mainnet, "eip155:8453", "10000", UsdcBase, 300, "USD Coin", "2", MainnetDescription, "")]
    public void TryDecodeHeader_ReadsEveryField_OfOfficialChallenge(string path, string network, string atomicAmount, string asset, long maxTimeoutSeconds, string tokenName, string tokenVersion, string description, string mimeType)
    {
        var challenge = Decode(path);

        Assert.Equal(2, challenge.X402Version);
        Assert.Equal("Payment required", challenge.Error);
        Assert.Equal(new ResourceInfo(server.Url(path), description, mimeType), challenge.Resource);
        Assert.Empty(challenge.Unreadable);
        var requirement = Assert.Single(challenge.Accepts);
        Assert.Equal("exact", requirement.Scheme);
        Assert.Equal(network, requirement.Network);
        Assert.Equal(BigInteger.Parse(atomicAmount, CultureInfo.InvariantCulture), requirement.Amount);
        Assert.Equal(asset, requirement.Asset);
        Assert.Equal(PayTo, requirement.PayTo);
        Assert.Equal(maxTimeoutSeconds, requirement.MaxTimeoutSeconds);
        Assert.Equal(tokenName, requirement.Extra!["name"]!.GetValue<string>());
        Assert.Equal(tokenVersion, requirement.Extra!["version"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Premium)]
    [InlineData(Custom)]
    [InlineData(Mainnet)]
    public void ToJson_EqualsOfficialAcceptsEntry_ByteForByte(string path)
    {
        var officialText = Encoding.UTF8.GetString(Convert.FromBase64String(server.Header(path)));
        using var official = JsonDocument.Parse(officialText);
        var officialEntry = official.RootElement.GetProperty("accepts")[0].GetRawText();

        var ours = X402Json.Serialize(Assert.Single(Decode(path).Accepts).ToJson());

        Assert.Equal(officialEntry, ours);
    }

    [Theory]
    [InlineData(Weather)]
    [InlineData(Premium)]
    [InlineData(Custom)]
    [InlineData(Mainnet)]
    public void EncodeHeader_ReproducesOfficialHeader_WhenDecodedChallengeIsReencoded(string path)
    {
        Assert.Equal(server.Header(path), Decode(path).EncodeHeader());
    }

    [Fact]
    public void TryRead_ReadsOfficialSiwxChallenge_WhenRouteDeclaresItWithoutOptions()
    {
        var before = DateTimeOffset.UtcNow;
        Assert.True(SiwxChallenge.TryRead(Decode(Weather).Extensions, out var challenge, out var error), error);

        var info = challenge!.Info;
        Assert.Equal($"127.0.0.1:{server.Port}", info.Domain);
        Assert.Equal(server.Url(Weather), info.Uri);
        Assert.Equal("1", info.Version);
        Assert.Matches("^[0-9a-f]{32}$", info.Nonce);
        var issued = DateTimeOffset.Parse(info.IssuedAt, CultureInfo.InvariantCulture);
        Assert.InRange(issued, before.AddMinutes(-5), before.AddSeconds(1));
        Assert.Null(info.ExpirationTime);
        Assert.Null(info.NotBefore);
        Assert.Null(info.RequestId);
        Assert.Null(info.Statement);
        Assert.Equal([server.Url(Weather)], info.Resources!);
        Assert.Equal([new SiwxChain("eip155:84532", "eip191")], challenge.SupportedChains);
    }

    [Fact]
    public void TryRead_ReadsStatementAndExpiry_WhenRouteDeclaresThem()
    {
        Assert.True(SiwxChallenge.TryRead(Decode(Custom).Extensions, out var challenge, out var error), error);

        var info = challenge!.Info;
        Assert.Equal(server.Url(Custom), info.Uri);
        Assert.Equal(CustomStatement, info.Statement);
        var issued = DateTimeOffset.Parse(info.IssuedAt, CultureInfo.InvariantCulture);
        var expires = DateTimeOffset.Parse(info.ExpirationTime!, CultureInfo.InvariantCulture);
        // The official server reads the clock twice (issuedAt, then issuedAt + 600 s from a second Date), so a loaded machine
        // can put a few milliseconds between them.
        Assert.InRange(expires - issued, TimeSpan.FromSeconds(600), TimeSpan.FromSeconds(601));
        Assert.Equal([new SiwxChain("eip155:84532", "eip191")], challenge.SupportedChains);
    }

    [Fact]
    public void TryRead_SaysSiwxIsNotOffered_WhenRouteDoesNotDeclareIt()
    {
        Assert.False(SiwxChallenge.TryRead(Decode(Premium).Extensions, out var challenge, out var error));
        Assert.Null(challenge);
        Assert.Equal("the server does not offer sign-in-with-x", error);
    }

    [Fact]
    public void Select_RefusesOfficialChallenge_WhenPriceExceedsMaxPayment()
    {
        var selection = RequirementSelector.Select(Decode(Premium), PaymentPolicy.Default.WithMaxPayment("0.01"));

        Assert.False(selection.Succeeded);
        Assert.Equal("price 0.05 USDC exceeds max_payment 0.01 USDC", selection.Reason);
    }

    [Fact]
    public void Select_ChoosesOfficialRequirement_WhenPriceIsWithinMaxPayment()
    {
        var challenge = Decode(Weather);

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithMaxPayment("0.01"));

        Assert.True(selection.Succeeded, selection.Reason);
        Assert.Same(challenge.Accepts[0], selection.Requirement);
        Assert.Equal(AssetInfo.UsdcBaseSepolia, selection.Asset);
    }

    [Fact]
    public void Select_RefusesOfficialChallenge_WhenAssetIsNotAllowed()
    {
        var selection = RequirementSelector.Select(Decode(Custom), PaymentPolicy.Default);

        Assert.False(selection.Succeeded);
        Assert.Equal($"asset {CustomAsset} on eip155:84532 is not an allowed asset", selection.Reason);
    }
}
