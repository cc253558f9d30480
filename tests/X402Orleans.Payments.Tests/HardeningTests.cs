using System.Numerics;
using X402Orleans.Payments;
using X402Orleans.Payments.Scope;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Payments.Tests;

/// <summary>Hostile-input hardening: SIWX message injection, uint256 bounds, pre-built URIs with user info.</summary>
public sealed class HardeningTests
{
    private static readonly Uri Server = new("https://api.example.com/v1/weather");

    private static SiwxChallenge Challenge(string? statement = null, string nonce = "a1b2c3d4e5f60718", string uri = "https://api.example.com/v1/weather", string? requestId = null) =>
        new(new SiwxInfo("api.example.com", uri, "1", nonce, "2026-01-01T00:00:00.000Z", null, null, requestId, [uri], statement), [new SiwxChain("eip155:84532", "eip191")]);

    [Theory]
    [InlineData("Sign in\nURI: https://evil.example/steal")]
    [InlineData("Sign in\rChain ID: 1")]
    [InlineData("Café access")]
    public async Task SignAsync_Refuses_WhenStatementCouldForgeOrBreakTheMessage(string statement)
    {
        var signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);
        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(Challenge(statement), signer, Server));
        Assert.Contains("statement", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignAsync_Refuses_WhenRequestIdCarriesALineBreak()
    {
        var signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);
        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(Challenge(requestId: "1\nResources:"), signer, Server));
        Assert.Contains("requestId", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("nonce-with-dash")]
    public async Task SignAsync_Refuses_WhenNonceIsNotEightAlphanumerics(string nonce)
    {
        var signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);
        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(Challenge(nonce: nonce), signer, Server));
        Assert.Contains("nonce", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParseAtomic_Refuses_WhenAboveUint256()
    {
        var max = AtomicAmount.MaxUint256.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(AtomicAmount.TryParseAtomic(max, out var value));
        Assert.Equal(AtomicAmount.MaxUint256, value);
        Assert.False(AtomicAmount.TryParseAtomic((AtomicAmount.MaxUint256 + BigInteger.One).ToString(System.Globalization.CultureInfo.InvariantCulture), out _));
    }

    [Fact]
    public void TryParseDecimal_Refuses_WhenAtomicValueOverflowsUint256()
    {
        Assert.False(AtomicAmount.TryParseDecimal(new string('9', 70), 18, out _, out var error));
        Assert.Contains("larger than", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Covers_Refuses_WhenPrebuiltUriCarriesUserInfo()
    {
        Assert.True(EndpointScope.TryCreate("https://api.example.com/v1", ScopeMode.Prefix, out var scope, out _));
        Assert.False(scope!.Covers(new Uri("https://user:pw@api.example.com/v1/x")));
        Assert.True(scope.Covers(new Uri("https://api.example.com/v1/x")));
    }
}

/// <summary>Empty and whitespace 402 bodies are refused with a reason, never thrown.</summary>
public sealed class EmptyBodyTests
{
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\uFEFF")]
    public void TryParseBody_Refuses_WhenBodyHasNoJson(string body)
    {
        Assert.False(X402Orleans.Payments.Wire.PaymentRequired.TryParseBody(System.Text.Encoding.UTF8.GetBytes(body), out var challenge, out var error));
        Assert.Null(challenge);
        Assert.False(string.IsNullOrEmpty(error));
    }
}
