using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Gateway.Observability;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// The Orleans dashboard mounted by <see cref="X402Dashboard.MapX402OrleansDashboard"/> on the real host (the silo side comes
/// from the silo's hosting), behind a stand-in for the console's operator policy: the page, its assets and its cluster data
/// answer under the prefix when authorized, and nothing does when not.
/// </summary>
public sealed class OrleansDashboardTests
{
    private const string Policy = "X402Operator";
    private const string OperatorHeader = "X-Test-Operator";

    [Fact]
    public async Task Dashboard_ServesPageAndClusterData_WhenAuthorized()
    {
        await using var host = await StartAsync();
        using var http = Client(host, signedIn: true);

        using var page = await http.GetAsync(new Uri("/console/dashboard/", UriKind.Relative));
        using var script = await http.GetAsync(new Uri("/console/dashboard/index.min.js", UriKind.Relative));
        using var stats = await http.GetAsync(new Uri("/console/dashboard/ClusterStats", UriKind.Relative));
        using var counters = await http.GetAsync(new Uri("/console/dashboard/DashboardCounters", UriKind.Relative));
        using var grainTypes = await http.GetAsync(new Uri("/console/dashboard/GrainTypes", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("index.min.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
        Assert.Equal(HttpStatusCode.OK, grainTypes.StatusCode);
        using var body = JsonDocument.Parse(await counters.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Array, body.RootElement.GetProperty("hosts").ValueKind);
        using var types = JsonDocument.Parse(await grainTypes.Content.ReadAsStringAsync());
        var names = types.RootElement.EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains(typeof(X402Orleans.Grains.SessionGrain).FullName, names);
        Assert.Contains(typeof(X402Orleans.Grains.KeyRingGrain).FullName, names);
    }

    [Fact]
    public async Task Dashboard_RedirectsToTrailingSlash_WhenPrefixRequestedWithoutIt()
    {
        await using var host = await StartAsync();
        using var http = Client(host, signedIn: true);

        using var response = await http.GetAsync(new Uri("/console/dashboard", UriKind.Relative));

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/console/dashboard/", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/console/dashboard/")]
    [InlineData("/console/dashboard/index.min.js")]
    [InlineData("/console/dashboard/DashboardCounters")]
    [InlineData("/console/dashboard/Trace")]
    public async Task Dashboard_Refused_WhenNotAuthorized(string path)
    {
        await using var host = await StartAsync();
        using var http = Client(host, signedIn: false);

        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("index.min.js", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_NotFound_WhenDisabledBySetting()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["X402:Dashboard:Enabled"] = "false" });
        using var http = Client(host, signedIn: true);

        using var response = await http.GetAsync(new Uri("/console/dashboard/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static Task<GatewayHost> StartAsync(IReadOnlyDictionary<string, string?>? extra = null) => GatewayHost.StartAsync(
        extra,
        b =>
        {
            b.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, HeaderOperatorHandler>(Policy, null);
            b.Services.AddAuthorization(o => o.AddPolicy(Policy, p => p.AddAuthenticationSchemes(Policy).RequireAuthenticatedUser()));
        },
        app => app.MapX402OrleansDashboard().RequireAuthorization(Policy));

    private static HttpClient Client(GatewayHost host, bool signedIn)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (signedIn)
        {
            http.DefaultRequestHeaders.Add(OperatorHeader, "test-operator");
        }

        return http;
    }

    /// <summary>Stands in for the console's cookie sign-in: a request naming an operator in a header is signed in.</summary>
    private sealed class HeaderOperatorHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var name = Request.Headers[OperatorHeader].ToString();
            return Task.FromResult(name.Length == 0
                ? AuthenticateResult.NoResult()
                : AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], Scheme.Name)), Scheme.Name)));
        }
    }
}
