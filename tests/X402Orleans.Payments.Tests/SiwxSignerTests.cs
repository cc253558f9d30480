using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public class SiwxSignerTests
{
    private static readonly Uri ResponseUrl = new("http://127.0.0.1:14021/api/v1/weather");
    private static readonly Uri Origin = new("http://127.0.0.1:14021");
    private const string Host = "127.0.0.1:14021";

    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 24, 21, 35, 11, 892, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(IssuedAt.AddMinutes(1));
    private readonly LocalPrivateKeySigner _signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

    private static readonly SiwxInfo FullInfo = new(
        Host,
        "http://127.0.0.1:14021/api/v1/weather",
        "1",
        "abcdef0123456789",
        "2026-11-24T21:35:11.892Z",
        "2026-11-24T21:40:11.892Z",
        "2026-11-24T21:35:00.000Z",
        "r1",
        ["http://127.0.0.1:14021/api/v1/weather"],
        "Hi");

    private static readonly SiwxInfo MinimalInfo = new(Host, "http://127.0.0.1:14021/api/v1/weather", "1", "abcdef0123456789", "2026-11-24T21:35:11.892Z", null, null, null, null, null);

    private static readonly SiwxChain BaseSepolia = new("eip155:84532", "eip191");

    // The official client (createSIWxClientHook, @x402/extensions 2.27 with viem) signing FullInfo with TestData.PrivateKey.
    private const string OfficialHeader =
        "eyJkb21haW4iOiIxMjcuMC4wLjE6MTQwMjEiLCJhZGRyZXNzIjoiMHgyYzc1MzZFMzYwNUQ5QzE2YTdhM0Q3YjE4OThlNTI5Mzk2YTY1YzIzIiwic3RhdGVtZW50IjoiSGkiLCJ1cmkiOiJodHRwOi8vMTI3LjAuMC4xOjE0MDIxL2FwaS92MS93ZWF0aGVyIiwidmVyc2lvbiI6IjEiLCJjaGFpbklkIjoiZWlwMTU1Ojg0NTMyIiwidHlwZSI6ImVpcDE5MSIsIm5vbmNlIjoiYWJjZGVmMDEyMzQ1Njc4OSIsImlzc3VlZEF0IjoiMjAyNi0xMS0yNFQyMTozNToxMS44OTJaIiwiZXhwaXJhdGlvblRpbWUiOiIyMDI2LTExLTI0VDIxOjQwOjExLjg5MloiLCJub3RCZWZvcmUiOiIyMDI2LTExLTI0VDIxOjM1OjAwLjAwMFoiLCJyZXF1ZXN0SWQiOiJyMSIsInJlc291cmNlcyI6WyJodHRwOi8vMTI3LjAuMC4xOjE0MDIxL2FwaS92MS93ZWF0aGVyIl0sInNpZ25hdHVyZSI6IjB4YWFhZTAyZmZiNDc1YzZjNGFhNGI3ZTNkNmY5MTNiMDUwOWE1OTU1MWJlMTU4M2FiZDNhNmU2NTA1NDU2MjVlYzcyYjFmOWE3NDVhNzNlYjMxN2Y1OWY1OGFjNzdmNGFiYjcwMDEyNjM0MTNmODMwN2Q3OGQ1MDBmN2NkYzQ0YmMxYiJ9";

    private static SiwxChallenge Challenge(SiwxInfo info, params SiwxChain[] chains) => new(info, chains.Length == 0 ? [BaseSepolia] : chains);

    private static JsonObject Decode(string header)
    {
        Assert.True(X402Json.TryDecodeHeader(header, out var json, out var error), error);
        return json!;
    }

    private static string Reencode(string header, Action<JsonObject> change)
    {
        var json = Decode(header);
        change(json);
        return X402Json.EncodeHeader(json);
    }

    private bool Verify(string header, out string? address, out string error, string host = Host, Uri? origin = null) =>
        SiwxSigner.TryVerify(header, host, origin ?? Origin, _time.GetUtcNow(), SiwxSigner.DefaultMaxAge, out address, out _, out error);

    [Fact]
    public async Task SignAsync_WritesSameHeaderAsOfficialClient()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(FullInfo), _signer, ResponseUrl);

        Assert.Equal(OfficialHeader, proof.HeaderValue);
    }

    [Fact]
    public async Task SignAsync_WritesOfficialKeyOrder_WithAllOptionalFields()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(FullInfo), _signer, ResponseUrl);

        Assert.Equal(
            ["domain", "address", "statement", "uri", "version", "chainId", "type", "nonce", "issuedAt", "expirationTime", "notBefore", "requestId", "resources", "signature"],
            TestData.Keys(Decode(proof.HeaderValue)));
    }

    [Fact]
    public async Task SignAsync_OmitsAbsentOptionalFields()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(MinimalInfo), _signer, ResponseUrl);

        var json = Decode(proof.HeaderValue);
        Assert.Equal(["domain", "address", "uri", "version", "chainId", "type", "nonce", "issuedAt", "signature"], TestData.Keys(json));
        Assert.Equal(TestData.Address, json["address"]!.GetValue<string>());
        Assert.Equal("eip155:84532", json["chainId"]!.GetValue<string>());
        Assert.Equal("eip191", json["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task SignAsync_DescribesProof_ForCaching()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(FullInfo), _signer, ResponseUrl);

        Assert.Equal(TestData.Address, proof.Address);
        Assert.Equal("eip155:84532", proof.ChainId);
        Assert.Equal("abcdef0123456789", proof.Nonce);
        Assert.Equal(IssuedAt, proof.IssuedAt);
        Assert.Equal(IssuedAt.AddMinutes(5), proof.ExpiresAt);
    }

    [Fact]
    public async Task SignAsync_PicksFirstEvmEip191Chain()
    {
        var challenge = Challenge(MinimalInfo, new SiwxChain("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "ed25519"), new SiwxChain("eip155:8453", "eip1271"), new SiwxChain("eip155:8453", "eip191"), BaseSepolia);

        var proof = await SiwxSigner.SignAsync(challenge, _signer, ResponseUrl);

        Assert.Equal("eip155:8453", proof.ChainId);
        Assert.True(Verify(proof.HeaderValue, out _, out var error), error);
    }

    [Theory]
    [InlineData("localhost:14021")]
    [InlineData("127.0.0.1:14022")]
    [InlineData("127.0.0.1")]
    [InlineData("evil.example")]
    public async Task SignAsync_Refuses_WhenDomainIsNotTheRespondingServer(string domain)
    {
        var challenge = Challenge(MinimalInfo with { Domain = domain });

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(challenge, _signer, ResponseUrl));

        Assert.Equal($"sign-in-with-x challenge domain \"{domain}\" does not match the server \"127.0.0.1:14021\"", ex.Message);
    }

    [Fact]
    public async Task SignAsync_ComparesDomainWithHostWithoutDefaultPort_LikeUrlHost()
    {
        var info = MinimalInfo with { Domain = "api.example.com", Uri = "https://api.example.com/v1/weather" };
        var url = new Uri("https://api.example.com:443/v1/weather");

        var proof = await SiwxSigner.SignAsync(Challenge(info), _signer, url);
        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(Challenge(info with { Domain = "api.example.com:443" }), _signer, url));

        Assert.Equal("api.example.com", Decode(proof.HeaderValue)["domain"]!.GetValue<string>());
        Assert.Equal("sign-in-with-x challenge domain \"api.example.com:443\" does not match the server \"api.example.com\"", ex.Message);
    }

    [Fact]
    public async Task SignAsync_Refuses_WhenServerIsLocalhostButDomainIsLoopbackIp()
    {
        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(Challenge(MinimalInfo), _signer, new Uri("http://localhost:14021/api/v1/weather")));

        Assert.Equal("sign-in-with-x challenge domain \"127.0.0.1:14021\" does not match the server \"localhost:14021\"", ex.Message);
    }

    [Theory]
    [InlineData("http://evil.example/api/v1/weather")]
    [InlineData("http://127.0.0.1:14022/api/v1/weather")]
    [InlineData("https://127.0.0.1:14021/api/v1/weather")]
    [InlineData("/api/v1/weather")]
    [InlineData("not a url")]
    public async Task SignAsync_Refuses_WhenUriIsOnAnotherOrigin(string uri)
    {
        var challenge = Challenge(MinimalInfo with { Uri = uri });

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(challenge, _signer, ResponseUrl));

        Assert.Equal($"sign-in-with-x challenge uri \"{uri}\" is not on the server's origin", ex.Message);
    }

    [Fact]
    public async Task SignAsync_Accepts_WhenUriIsAnotherPathOnSameOrigin()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(MinimalInfo with { Uri = "http://127.0.0.1:14021/other" }), _signer, ResponseUrl);

        Assert.Equal("http://127.0.0.1:14021/other", Decode(proof.HeaderValue)["uri"]!.GetValue<string>());
    }

    [Fact]
    public async Task SignAsync_Refuses_WhenNoEip191Chain()
    {
        var challenge = new SiwxChallenge(MinimalInfo, [new SiwxChain("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "ed25519"), new SiwxChain("eip155:8453", "eip1271")]);

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(challenge, _signer, ResponseUrl));

        Assert.Equal("sign-in-with-x challenge offers no EVM (eip191) chain", ex.Message);
    }

    [Fact]
    public async Task SignAsync_Refuses_WhenNoChainsAtAll()
    {
        await Assert.ThrowsAsync<X402ProtocolException>(() => SiwxSigner.SignAsync(new SiwxChallenge(MinimalInfo, []), _signer, ResponseUrl));
    }

    [Fact]
    public async Task TryVerify_AcceptsOwnProof_AndReturnsChecksummedAddressAndNonce()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(FullInfo), _signer, ResponseUrl);

        Assert.True(SiwxSigner.TryVerify(proof.HeaderValue, Host, Origin, _time.GetUtcNow(), SiwxSigner.DefaultMaxAge, out var address, out var nonce, out var error), error);
        Assert.Equal(TestData.Address, address);
        Assert.Equal("abcdef0123456789", nonce);
    }

    [Fact]
    public void TryVerify_AcceptsOfficialClientsProof()
    {
        Assert.True(Verify(OfficialHeader, out var address, out var error), error);
        Assert.Equal(TestData.Address, address);
    }

    [Fact]
    public async Task TryVerify_AcceptsMinimalProof()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(MinimalInfo), _signer, ResponseUrl);

        Assert.True(Verify(proof.HeaderValue, out _, out var error), error);
    }

    [Fact]
    public void TryVerify_AcceptsBase64UrlHeader()
    {
        var header = OfficialHeader.Replace('+', '-').Replace('/', '_').TrimEnd('=');

        Assert.True(Verify(header, out _, out var error), error);
    }

    [Theory]
    [InlineData("nonce", "abcdef0123456780")]
    [InlineData("statement", "Hi!")]
    [InlineData("requestId", "r2")]
    [InlineData("chainId", "eip155:8453")]
    [InlineData("expirationTime", "2026-11-24T22:40:11.892Z")]
    public void TryVerify_RefusesSignature_WhenSignedFieldTampered(string field, string value)
    {
        var header = Reencode(OfficialHeader, json => json[field] = value);

        Assert.False(Verify(header, out var address, out var error));
        Assert.Null(address);
        Assert.Equal("invalid_siwx_signature", error);
    }

    [Fact]
    public void TryVerify_RefusesSignature_WhenResourceAdded()
    {
        var header = Reencode(OfficialHeader, json => json["resources"]!.AsArray().Add("http://127.0.0.1:14021/api/v1/admin"));

        Assert.False(Verify(header, out _, out var error));
        Assert.Equal("invalid_siwx_signature", error);
    }

    [Theory]
    [InlineData("localhost:14021")]
    [InlineData("127.0.0.1:14022")]
    [InlineData("127.0.0.1")]
    public void TryVerify_Refuses_WhenDomainIsNotExpectedHost(string expectedHost)
    {
        Assert.False(Verify(OfficialHeader, out _, out var error, host: expectedHost));
        Assert.Equal("invalid_siwx_domain_mismatch", error);
    }

    [Fact]
    public void TryVerify_Refuses_WhenUriIsOnAnotherOrigin()
    {
        Assert.False(Verify(OfficialHeader, out _, out var error, origin: new Uri("https://127.0.0.1:14021")));
        Assert.Equal("invalid_siwx_uri_mismatch", error);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(3600)]
    [InlineData(-1)]
    public void TryVerify_Refuses_WhenIssuedTooLongAgoOrInTheFuture(int secondsAfterIssue)
    {
        var now = IssuedAt.AddSeconds(secondsAfterIssue);

        Assert.False(SiwxSigner.TryVerify(OfficialHeader, Host, Origin, now, SiwxSigner.DefaultMaxAge, out _, out _, out var error));
        Assert.Equal("invalid_siwx_issued_at", error);
    }

    [Fact]
    public async Task TryVerify_Refuses_OnceClockPassesMaxAge()
    {
        var proof = await SiwxSigner.SignAsync(Challenge(MinimalInfo), _signer, ResponseUrl);
        Assert.True(Verify(proof.HeaderValue, out _, out _));

        _time.Advance(TimeSpan.FromMinutes(4) + TimeSpan.FromMilliseconds(1));

        Assert.False(Verify(proof.HeaderValue, out _, out var error));
        Assert.Equal("invalid_siwx_issued_at", error);
    }

    [Fact]
    public void TryVerify_Accepts_AtExactlyMaxAge()
    {
        Assert.True(SiwxSigner.TryVerify(OfficialHeader, Host, Origin, IssuedAt.AddMinutes(5), SiwxSigner.DefaultMaxAge, out _, out _, out var error), error);
    }

    [Fact]
    public async Task TryVerify_Refuses_WhenExpired()
    {
        var info = FullInfo with { ExpirationTime = "2026-11-24T21:37:11.892Z", NotBefore = null };
        var proof = await SiwxSigner.SignAsync(Challenge(info), _signer, ResponseUrl);

        Assert.False(SiwxSigner.TryVerify(proof.HeaderValue, Host, Origin, IssuedAt.AddMinutes(3), TimeSpan.FromMinutes(10), out _, out _, out var error));
        Assert.Equal("invalid_siwx_expired", error);
    }

    [Fact]
    public async Task TryVerify_Refuses_WhenNotBeforeIsInTheFuture()
    {
        var info = FullInfo with { NotBefore = "2026-11-24T21:38:00.000Z" };
        var proof = await SiwxSigner.SignAsync(Challenge(info), _signer, ResponseUrl);

        Assert.False(Verify(proof.HeaderValue, out _, out var error));
        Assert.Equal("invalid_siwx_not_yet_valid", error);
    }

    [Theory]
    [InlineData("issuedAt", "yesterday", "invalid_siwx_issued_at")]
    [InlineData("expirationTime", "soon", "invalid_siwx_expired")]
    [InlineData("notBefore", "later", "invalid_siwx_not_yet_valid")]
    public void TryVerify_Refuses_WhenTimestampUnreadable(string field, string value, string expected)
    {
        var header = Reencode(OfficialHeader, json => json[field] = value);

        Assert.False(Verify(header, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenAnotherSignerClaimsTheAddress()
    {
        var other = LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey);
        var proof = await SiwxSigner.SignAsync(Challenge(FullInfo), other, ResponseUrl);

        var forged = Reencode(proof.HeaderValue, json => json["address"] = TestData.Address);

        Assert.False(Verify(forged, out _, out var error));
        Assert.Equal("invalid_siwx_signature", error);
    }

    [Fact]
    public async Task TryVerify_RefusesSignature_WhenSignedForAnotherMessageByTheSameKey()
    {
        var message = SiwxMessage.Build(FullInfo with { Nonce = "0000000000000000" }, TestData.Address, "eip155:84532");
        var signature = await _signer.SignMessageAsync(message);

        var forged = Reencode(OfficialHeader, json => json["signature"] = signature);

        Assert.False(Verify(forged, out _, out var error));
        Assert.Equal("invalid_siwx_signature", error);
    }

    [Fact]
    public void TryVerify_RefusesSignature_WhenVIs0Or1()
    {
        var signature = Decode(OfficialHeader)["signature"]!.GetValue<string>();
        var v = Convert.ToByte(signature[130..], 16);
        var header = Reencode(OfficialHeader, json => json["signature"] = signature[..130] + (v - 27).ToString("x2", CultureInfo.InvariantCulture));

        Assert.False(Verify(header, out _, out var error));
        Assert.Equal("invalid_siwx_signature", error);
    }

    [Theory]
    [InlineData("address", "0x1234")]
    [InlineData("chainId", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")]
    [InlineData("signature", null)]
    public void TryVerify_Refuses_WhenAddressChainOrSignatureMalformed(string field, string? value)
    {
        var header = Reencode(OfficialHeader, json => json[field] = value);

        Assert.False(Verify(header, out _, out var error));
        Assert.Equal("invalid_siwx_header: address, chainId or signature missing or malformed", error);
    }

    [Theory]
    [InlineData(null, "invalid_siwx_header: header is empty")]
    [InlineData("###", "invalid_siwx_header: header is not base64")]
    [InlineData("e30", "invalid_siwx_header: sign-in-with-x info lacks domain, uri, nonce or issuedAt")]
    public void TryVerify_Refuses_WhenHeaderUnreadable(string? header, string expected)
    {
        Assert.False(Verify(header!, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void IsUsableAt_ReturnsTrue_WhenFreshAndUnexpired()
    {
        var proof = new SiwxProof("h", TestData.Address, "eip155:84532", "n", IssuedAt, IssuedAt.AddMinutes(5));

        Assert.True(proof.IsUsableAt(IssuedAt.AddMinutes(1), SiwxSigner.DefaultMaxAge, TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData(270)]
    [InlineData(280)]
    [InlineData(600)]
    public void IsUsableAt_ReturnsFalse_WithinMarginOfExpiryOrMaxAge(int secondsAfterIssue)
    {
        var proof = new SiwxProof("h", TestData.Address, "eip155:84532", "n", IssuedAt, IssuedAt.AddMinutes(10));

        Assert.False(proof.IsUsableAt(IssuedAt.AddSeconds(secondsAfterIssue), SiwxSigner.DefaultMaxAge, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void IsUsableAt_ReturnsFalse_WhenExpiryComesBeforeMaxAge()
    {
        var proof = new SiwxProof("h", TestData.Address, "eip155:84532", "n", IssuedAt, IssuedAt.AddMinutes(2));

        Assert.True(proof.IsUsableAt(IssuedAt.AddSeconds(89), SiwxSigner.DefaultMaxAge, TimeSpan.FromSeconds(30)));
        Assert.False(proof.IsUsableAt(IssuedAt.AddSeconds(90), SiwxSigner.DefaultMaxAge, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void IsUsableAt_ReturnsTrue_WhenNoTimesKnown()
    {
        var proof = new SiwxProof("h", TestData.Address, "eip155:84532", "n", null, null);

        Assert.True(proof.IsUsableAt(DateTimeOffset.MaxValue.AddDays(-1), SiwxSigner.DefaultMaxAge, TimeSpan.Zero));
    }
}
