using X402Orleans.Payments.Scope;

namespace X402Orleans.Payments.Tests;

public class EndpointScopeTests
{
    private static EndpointScope Scope(string endpoint, ScopeMode mode = ScopeMode.Prefix)
    {
        Assert.True(EndpointScope.TryCreate(endpoint, mode, out var scope, out var error), error);
        return scope!;
    }

    [Theory]
    [InlineData("https://api.x.com/v1")]
    [InlineData("https://api.x.com/v1/")]
    [InlineData("https://api.x.com/v1/x")]
    [InlineData("https://api.x.com/v1/x/y?q=1")]
    [InlineData("https://api.x.com/v1?q=1")]
    public void Covers_ReturnsTrue_ForPrefixOnSegmentBoundary(string url)
    {
        Assert.True(Scope("https://api.x.com/v1").Covers(url));
    }

    [Theory]
    [InlineData("https://api.x.com/v10")]
    [InlineData("https://api.x.com/v1x/a")]
    [InlineData("https://api.x.com/v")]
    [InlineData("https://api.x.com/")]
    [InlineData("https://api.x.com/V1")]
    [InlineData("https://api.x.com/v2/v1")]
    public void Covers_ReturnsFalse_OutsidePrefix(string url)
    {
        Assert.False(Scope("https://api.x.com/v1").Covers(url));
    }

    [Theory]
    [InlineData("https://api.x.com/v1", true)]
    [InlineData("https://api.x.com/v1/x", true)]
    [InlineData("https://api.x.com/v10", false)]
    public void Covers_TreatsTrailingSlashEndpointLikeBarePrefix(string url, bool expected)
    {
        Assert.Equal(expected, Scope("https://api.x.com/v1/").Covers(url));
    }

    [Theory]
    [InlineData("https://api.x.com/v1/weather", true)]
    [InlineData("https://api.x.com/v1/weather?city=Oslo", true)]
    [InlineData("https://api.x.com/v1/weather/", false)]
    [InlineData("https://api.x.com/v1/weather/today", false)]
    [InlineData("https://api.x.com/v1/weathers", false)]
    [InlineData("https://api.x.com/v1", false)]
    public void Covers_MatchesPathOnlyAndIgnoresQuery_InExactMode(string url, bool expected)
    {
        Assert.Equal(expected, Scope("https://api.x.com/v1/weather?city=Rome", ScopeMode.Exact).Covers(url));
    }

    [Theory]
    [InlineData("https://api.x.com")]
    [InlineData("https://api.x.com/")]
    [InlineData("https://api.x.com/anything/at/all?x=1")]
    public void Covers_ReturnsTrue_ForAnyPath_WhenEndpointIsRoot(string url)
    {
        Assert.True(Scope("https://api.x.com").Covers(url));
        Assert.True(Scope("https://api.x.com/").Covers(url));
    }

    [Fact]
    public void Covers_ReturnsOnlyRoot_WhenEndpointIsRootInExactMode()
    {
        var scope = Scope("https://api.x.com/", ScopeMode.Exact);

        Assert.True(scope.Covers("https://api.x.com"));
        Assert.False(scope.Covers("https://api.x.com/v1"));
    }

    [Theory]
    [InlineData("https://API.X.COM/v1/a")]
    [InlineData("https://Api.X.Com/v1/a")]
    [InlineData("HTTPS://api.x.com/v1/a")]
    public void Covers_IgnoresHostAndSchemeCase(string url)
    {
        Assert.True(Scope("https://api.x.com/v1").Covers(url));
        Assert.True(Scope("https://API.x.com/v1").Covers(url.ToLowerInvariant()));
    }

    [Theory]
    [InlineData("https://a.com/x", "https://a.com:443/x")]
    [InlineData("https://a.com:443/x", "https://a.com/x")]
    [InlineData("http://a.com/x", "http://a.com:80/x")]
    public void Covers_TreatsDefaultPortAsImplicit(string endpoint, string url)
    {
        Assert.True(Scope(endpoint).Covers(url));
    }

    [Theory]
    [InlineData("https://a.com:8443/x")]
    [InlineData("http://a.com/x")]
    [InlineData("http://a.com:443/x")]
    [InlineData("https://a.com:80/x")]
    public void Covers_ReturnsFalse_ForAnotherPortOrScheme(string url)
    {
        Assert.False(Scope("https://a.com/x").Covers(url));
    }

    [Theory]
    [InlineData("https://api.x.com.evil.net/v1")]
    [InlineData("https://evil.net/api.x.com/v1")]
    [InlineData("https://x.com/v1")]
    [InlineData("https://evilapi.x.com/v1")]
    [InlineData("https://sub.api.x.com/v1")]
    [InlineData("evil.net/api.x.com")]
    [InlineData("//api.x.com/v1")]
    public void Covers_ReturnsFalse_ForLookalikeOrigins(string url)
    {
        Assert.False(Scope("https://api.x.com/v1").Covers(url));
    }

    [Fact]
    public void TryNormalize_EncodesUnicodeHostAsPunycode()
    {
        Assert.True(EndpointScope.TryNormalize("https://Bücher.example/a", out var uri, out var error), error);

        Assert.Equal("https://xn--bcher-kva.example/a", uri!.AbsoluteUri);
    }

    [Fact]
    public void Covers_MatchesUnicodeAndPunycodeSpellingsOfSameHost()
    {
        Assert.True(Scope("https://bücher.example/a").Covers("https://xn--bcher-kva.example/a/b"));
        Assert.True(Scope("https://xn--bcher-kva.example/a").Covers("https://BÜCHER.example/a"));
        Assert.Equal("https://xn--bcher-kva.example:443", Scope("https://bücher.example/a").Origin);
    }

    [Fact]
    public void Covers_ReturnsFalse_ForCyrillicLookalikeHost()
    {
        // "аpi" starts with U+0430 CYRILLIC SMALL LETTER A.
        Assert.False(Scope("https://api.x.com/v1").Covers("https://\u0430pi.x.com/v1"));
        Assert.False(Scope("https://\u0430pi.x.com/v1").Covers("https://api.x.com/v1"));
        Assert.StartsWith("https://xn--", Scope("https://\u0430pi.x.com/v1").Origin, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://user:pw@api.x.com/v1")]
    [InlineData("https://user@api.x.com/v1")]
    [InlineData("https://api.x.com@evil.net/v1")]
    [InlineData("https://:@api.x.com/v1")]
    public void TryNormalize_RefusesUserInfo(string url)
    {
        Assert.False(EndpointScope.TryNormalize(url, out var uri, out var error));
        Assert.Null(uri);
        Assert.Equal("URL must not contain user info (user:password@)", error);
        Assert.False(Scope("https://api.x.com/v1").Covers(url));
        Assert.False(EndpointScope.TryCreate(url, ScopeMode.Prefix, out _, out _));
    }

    [Theory]
    [InlineData("https://api.x.com/v1#frag")]
    [InlineData("https://api.x.com/v1#")]
    public void TryNormalize_RefusesFragment(string url)
    {
        Assert.False(EndpointScope.TryNormalize(url, out _, out var error));
        Assert.Equal("URL must not contain a fragment (#…)", error);
    }

    [Theory]
    [InlineData("/v1/x")]
    [InlineData("api.x.com/v1")]
    [InlineData("ftp://api.x.com/v1")]
    [InlineData("file:///etc/passwd")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/plain,hi")]
    [InlineData("ws://api.x.com/v1")]
    [InlineData("mailto:a@x.com")]
    public void TryNormalize_RefusesRelativeAndNonHttpUrls(string url)
    {
        Assert.False(EndpointScope.TryNormalize(url, out _, out var error));
        Assert.Equal("URL must be an absolute http:// or https:// URL", error);
    }

    [Theory]
    [InlineData("https://api.x.com/v1 x")]
    [InlineData(" https://api.x.com/v1")]
    [InlineData("https://api.x.com/v1\n")]
    [InlineData("https://api.x.com/v1\t")]
    [InlineData("https://api.x.com/v1\u0000")]
    [InlineData("https://api.x.com\\@evil.net/v1")]
    [InlineData("https://api.x.com/v1\\..\\admin")]
    [InlineData("https://api.x.com/v1\u007f")]
    public void TryNormalize_RefusesSpacesBackslashesAndControlCharacters(string url)
    {
        Assert.False(EndpointScope.TryNormalize(url, out _, out var error));
        Assert.Equal("URL contains spaces, backslashes or control characters", error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void TryNormalize_RefusesEmpty(string? url)
    {
        Assert.False(EndpointScope.TryNormalize(url, out _, out var error));
        Assert.Equal("URL is empty", error);
    }

    [Fact]
    public void TryNormalize_RefusesOverlongUrl()
    {
        Assert.False(EndpointScope.TryNormalize("https://a.com/" + new string('a', EndpointScope.MaxUrlLength), out _, out var error));
        Assert.Equal("URL is longer than 4096 characters", error);
    }

    [Fact]
    public void TryNormalize_RefusesHostEndingWithDot()
    {
        Assert.False(EndpointScope.TryNormalize("https://api.x.com./v1", out _, out var error));
        Assert.Equal("URL host is empty or ends with a dot", error);
    }

    [Theory]
    [InlineData("https://api.x.com/v1/../v2", "/v2")]
    [InlineData("https://api.x.com/v1/./x", "/v1/x")]
    [InlineData("https://api.x.com/v1/%2e%2e/admin", "/admin")]
    [InlineData("https://api.x.com/v1/%2E%2E/admin", "/admin")]
    [InlineData("https://api.x.com/v1/x/../../admin", "/admin")]
    public void TryNormalize_RemovesDotSegments_IncludingPercentEncodedOnes(string url, string path)
    {
        Assert.True(EndpointScope.TryNormalize(url, out var uri, out var error), error);
        Assert.Equal(path, uri!.AbsolutePath);
    }

    [Theory]
    [InlineData("https://api.x.com/v1/../v2")]
    [InlineData("https://api.x.com/v1/%2e%2e/admin")]
    [InlineData("https://api.x.com/v1/x/../../admin")]
    public void Covers_ReturnsFalse_WhenDotSegmentsLeaveThePrefix(string url)
    {
        Assert.False(Scope("https://api.x.com/v1").Covers(url));
    }

    [Theory]
    [InlineData("https://api.x.com/v1/a%2Fb", "/v1/a%2Fb")]
    [InlineData("https://api.x.com/v1/a%2fb", "/v1/a%2fb")]
    [InlineData("https://api.x.com/v1/a%20b", "/v1/a%20b")]
    [InlineData("https://api.x.com/v1/..%2Fadmin", "/v1/..%2Fadmin")]
    public void TryNormalize_KeepsEncodedSlashesAndSpacesEncoded(string url, string path)
    {
        Assert.True(EndpointScope.TryNormalize(url, out var uri, out var error), error);
        Assert.Equal(path, uri!.AbsolutePath);
        Assert.True(EndpointScope.TryNormalize(uri.AbsoluteUri, out var again, out _));
        Assert.Equal(uri.AbsoluteUri, again!.AbsoluteUri);
    }

    [Theory]
    [InlineData("https://api.x.com/v1%2Fadmin")]
    [InlineData("https://api.x.com/v1%2fadmin")]
    [InlineData("https://api.x.com/v1%20")]
    [InlineData("https://api.x.com/v1%2F")]
    public void Covers_ReturnsFalse_WhenEncodedSlashFollowsPrefix(string url)
    {
        // An encoded '/' is not a segment boundary: "/v1%2Fadmin" is one segment, not "/v1" + "/admin".
        Assert.False(Scope("https://api.x.com/v1").Covers(url));
    }

    [Fact]
    public void Covers_ReturnsFalse_InExactMode_WhenPathOnlyDiffersByEncoding()
    {
        Assert.False(Scope("https://api.x.com/v1/a%2Fb", ScopeMode.Exact).Covers("https://api.x.com/v1/a/b"));
        Assert.False(Scope("https://api.x.com/v1/a/b", ScopeMode.Exact).Covers("https://api.x.com/v1/a%2Fb"));
    }

    [Fact]
    public void TryCreate_NormalisesEndpointOriginAndPath()
    {
        var scope = Scope("HTTPS://API.X.COM:443/v1/./weather?x=1", ScopeMode.Exact);

        Assert.Equal("https://api.x.com:443", scope.Origin);
        Assert.Equal("/v1/weather", scope.Path);
        Assert.Equal(ScopeMode.Exact, scope.Mode);
        Assert.Equal("https://api.x.com/v1/weather?x=1", scope.Endpoint.AbsoluteUri);
    }

    [Fact]
    public void TryCreate_Fails_WithReason_ForBadEndpoint()
    {
        Assert.False(EndpointScope.TryCreate("ftp://api.x.com", ScopeMode.Prefix, out var scope, out var error));
        Assert.Null(scope);
        Assert.Equal("URL must be an absolute http:// or https:// URL", error);
    }

    [Fact]
    public void Covers_HandlesIpLiteralHosts()
    {
        Assert.True(Scope("http://127.0.0.1:8080/v1").Covers("http://127.0.0.1:8080/v1/x"));
        Assert.True(Scope("http://[::1]:8080/v1").Covers("http://[::1]:8080/v1/x"));
        Assert.False(Scope("http://127.0.0.1:8080/v1").Covers("http://localhost:8080/v1/x"));
    }

    [Theory]
    [InlineData("/v1/next", "https://api.x.com/v1/next")]
    [InlineData("https://api.x.com/v1/z", "https://api.x.com/v1/z")]
    [InlineData("?page=2", "https://api.x.com/v1?page=2")]
    [InlineData("v1/sub", "https://api.x.com/v1/sub")]
    public void TryResolve_ResolvesRedirectInsideScope(string location, string expected)
    {
        Assert.True(Scope("https://api.x.com/v1").TryResolve(location, out var resolved));
        Assert.Equal(expected, resolved!.AbsoluteUri);
    }

    [Theory]
    [InlineData("../v2")]
    [InlineData("/v1/../v2")]
    [InlineData("next")]
    [InlineData("//evil.net/v1")]
    [InlineData("https://evil.net/v1")]
    [InlineData("http://api.x.com/v1")]
    [InlineData("https://user@api.x.com/v1")]
    [InlineData("/v1#frag")]
    [InlineData("/v1\\..\\admin")]
    [InlineData("javascript:alert(1)")]
    public void TryResolve_Refuses_WhenTargetLeavesScopeOrIsUnsafe(string location)
    {
        Assert.False(Scope("https://api.x.com/v1").TryResolve(location, out var resolved));
        Assert.Null(resolved);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void TryResolve_ReturnsEndpoint_WhenNoLocation(string? location)
    {
        var scope = Scope("https://api.x.com/v1?x=1");

        Assert.True(scope.TryResolve(location, out var resolved));
        Assert.Equal(scope.Endpoint, resolved);
    }

    [Theory]
    [InlineData(null, ScopeMode.Prefix)]
    [InlineData("", ScopeMode.Prefix)]
    [InlineData("prefix", ScopeMode.Prefix)]
    [InlineData("PREFIX", ScopeMode.Prefix)]
    [InlineData("exact", ScopeMode.Exact)]
    [InlineData("Exact", ScopeMode.Exact)]
    public void TryParseMode_ReadsKnownNames_DefaultingToPrefix(string? text, ScopeMode expected)
    {
        Assert.True(EndpointScope.TryParseMode(text, out var mode));
        Assert.Equal(expected, mode);
    }

    [Theory]
    [InlineData("strict")]
    [InlineData(" exact")]
    [InlineData("0")]
    public void TryParseMode_Fails_ForUnknownNames(string text)
    {
        Assert.False(EndpointScope.TryParseMode(text, out _));
    }
}
