using System.Net;
using System.Text.Json;

namespace X402Orleans.Console.Tests;

/// <summary>Sign-in, refusals and the signed-in pages over HTTP against the real embedded host with an operator key.</summary>
public sealed class ConsoleAccessTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private GatewayHost Host => fixture.Host;

    [Fact]
    public async Task SignIn_Returns401WithError_WhenKeyIsWrong()
    {
        using var client = new ConsoleClient(Host);

        using var response = await client.SignInAsync("not-the-operator-key-0123456789abcdef");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("id=\"signin-error\"", html, StringComparison.Ordinal);
        Assert.Contains("not accepted", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/console", "text/html")).StatusCode);
    }

    [Fact]
    public async Task SignIn_Refused_WhenKeyIsAnAgentsKey()
    {
        using var client = new ConsoleClient(Host);

        using var response = await client.SignInAsync(GatewayHost.AgentAKey);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(client.Cookies.GetCookies(Host.BaseUri).FirstOrDefault(c => c.Name == "x402_console"));
    }

    [Fact]
    public async Task SignIn_Returns400_WhenAntiforgeryTokenIsMissing()
    {
        using var client = new ConsoleClient(Host);
        _ = await client.GetPageAsync("/console/signin");

        using var response = await client.PostFormAsync("/console/signin", new Dictionary<string, string> { ["key"] = ConsoleClient.AdminKey }, tokenSource: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/console", "text/html")).StatusCode);
    }

    [Fact]
    public async Task SignIn_SetsStrictHttpOnlyCookie_WhenKeyIsTheOperatorsKey()
    {
        using var client = new ConsoleClient(Host);
        var page = await client.GetPageAsync("/console/signin");

        using var response = await client.PostFormAsync("/console/signin", new Dictionary<string, string> { ["key"] = ConsoleClient.AdminKey }, page);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console", response.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("x402_console=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("id=\"operator-name\">admin<", await client.GetPageAsync("/console"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Action_Returns400_WhenAntiforgeryTokenIsMissing()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        using var response = await client.PostFormAsync("/console/controls/pause-payments", new Dictionary<string, string>(), tokenSource: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("/console", null, HttpStatusCode.Redirect)]
    [InlineData("/console/sessions", "text/html", HttpStatusCode.Redirect)]
    [InlineData("/console/api/overview", "text/html", HttpStatusCode.Redirect)]
    [InlineData("/console/api/overview", "application/json", HttpStatusCode.Unauthorized)]
    [InlineData("/console/payments.csv", null, HttpStatusCode.Unauthorized)]
    public async Task Console_RefusesOrRedirectsToSignIn_WhenSignedOut(string path, string? accept, HttpStatusCode expected)
    {
        using var client = new ConsoleClient(Host);

        using var response = await client.GetAsync(path, accept);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Redirect)
        {
            Assert.Equal("/console/signin", response.Headers.Location?.OriginalString);
        }
    }

    [Fact]
    public async Task Pages_RenderContractElements_WhenSignedIn()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        string[] everyPage = ["id=\"console-nav\"", "id=\"nav-overview\"", "id=\"nav-agents\"", "id=\"nav-sessions\"", "id=\"nav-payments\"", "id=\"nav-audit\"", "id=\"nav-dashboard\"", "id=\"signout\"", "id=\"operator-name\""];
        var pages = new Dictionary<string, string[]>
        {
            ["/console"] = ["id=\"silos\"", "class=\"silo\"", "class=\"silo-status\">Active<", "id=\"active-sessions\"", "id=\"calls-per-second\"", "id=\"p50-ms\"", "<svg id=\"calls-chart\"", "id=\"payments-today\"", "class=\"asset-spend\"", "id=\"controls\"", "id=\"payments-state\"", "id=\"calls-state\"", "id=\"pause-payments\"", "id=\"resume-payments\"", "id=\"stop-calls\"", "id=\"resume-calls\"", "/console/assets/console.js"],
            ["/console/agents"] = ["id=\"agents\"", $"data-agent-id=\"{GatewayHost.AgentAId}\"", $"data-agent-id=\"{GatewayHost.AgentBId}\"", "class=\"agent-id\"", "class=\"sessions\"", "class=\"spent\"", "class=\"limit\"", "class=\"state\""],
            ["/console/sessions"] = ["id=\"session-search\"", "name=\"q\"", "id=\"sessions\""],
            ["/console/payments"] = ["id=\"payment-filter\"", "id=\"payments\"", "id=\"export-csv\""],
            ["/console/audit"] = ["id=\"audit\""],
        };

        foreach (var (path, ids) in pages)
        {
            using var response = await client.GetAsync(path, "text/html");
            var html = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            foreach (var id in everyPage.Concat(ids))
            {
                Assert.True(html.Contains(id, StringComparison.Ordinal), $"{path} lacks {id}");
            }

            Assert.Contains("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Contains("no-store", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OverviewApi_HasContractShape_WhenSignedIn()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        using var response = await client.GetAsync("/console/api/overview", "application/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        var silo = Assert.Single(root.GetProperty("silos").EnumerateArray());
        Assert.Equal("Active", silo.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(silo.GetProperty("address").GetString()));
        Assert.Equal(JsonValueKind.Number, root.GetProperty("active_sessions").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("calls_per_second").ValueKind);
        Assert.True(root.TryGetProperty("p50_ms", out _));
        Assert.Equal(JsonValueKind.Array, root.GetProperty("series").ValueKind);
        var asset = root.GetProperty("payments_today").EnumerateArray().First();
        Assert.Equal("USDC", asset.GetProperty("symbol").GetString());
        Assert.True(ulong.TryParse(asset.GetProperty("spent").GetString(), out _));
        Assert.Contains(root.GetProperty("payments_paused").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.Contains(root.GetProperty("calls_stopped").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
    }

    [Fact]
    public async Task Sessions_ListSessionStartedThroughMcp_WhenSearchedByAgent()
    {
        await using var agent = await Host.ConnectAsync(GatewayHost.AgentBKey);
        var start = await agent.StartAsync(Host.Url("/demo/weather"));
        Assert.False(start.IsError, start.Text);
        var sessionId = start.Structured.GetProperty("session_id").GetString()!;
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();

        var found = await client.GetPageAsync("/console/sessions?q=" + GatewayHost.AgentBId);
        var other = await client.GetPageAsync("/console/sessions?q=no-such-agent-or-endpoint");

        Assert.Contains($"data-session-id=\"{sessionId}\"", found, StringComparison.Ordinal);
        Assert.Contains($"href=\"/console/sessions/{sessionId}\"", found, StringComparison.Ordinal);
        Assert.DoesNotContain(sessionId, other, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Assets_ServeScript_WithoutSignIn()
    {
        using var client = new ConsoleClient(Host);

        using var response = await client.GetAsync("/console/assets/console.js");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/console/api/overview", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignOut_EndsTheSession_WhenPostedWithToken()
    {
        using var client = new ConsoleClient(Host);
        await client.SignInAsOperatorAsync();
        var page = await client.GetPageAsync("/console/audit");

        using var response = await client.PostFormAsync("/console/signout", new Dictionary<string, string>(), page);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/console/audit", "text/html")).StatusCode);
    }
}
