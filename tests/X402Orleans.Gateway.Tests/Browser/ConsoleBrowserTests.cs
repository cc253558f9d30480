using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using Orleans;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Tests.Browser;

/// <summary>
/// The operator console (/console) driven by a headless browser as an operator would, against the page contract, while MCP
/// clients act as the agents the operator watches and controls. One host for the class; each test starts from a fresh browser
/// profile (signed out) and from fleet controls reset to nothing paused, stopped or suspended, and ends with a screenshot.
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>, IAsyncLifetime
{
    private const string CsvHeader = "at,agent,session_id,outcome,amount,asset,network,transaction,reason";

    private GatewayHost Host => fixture.Host;

    public Task InitializeAsync() => fixture.ResetControlsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Overview_ShowsSilosAndActiveSessions_AfterSignIn()
    {
        var started = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");
        await using var browser = await BrowserSession.LaunchAsync();

        var landed = await SignInAsync(browser, ConsoleFixture.AdminKey);

        Assert.Equal(200, (int)landed.Status);
        Assert.Equal("/console", browser.Url.AbsolutePath.TrimEnd('/'));
        Assert.Equal("admin", await browser.TextAsync("#operator-name"));
        Assert.True(int.Parse(await browser.TextAsync("#active-sessions"), NumberStyles.None, CultureInfo.InvariantCulture) >= 1);
        var silos = await browser.RowsAsync("#silos tr.silo", "td.silo-address", "td.silo-status");
        Assert.NotEmpty(silos);
        Assert.Contains(silos, s => s[0].Length > 0 && s[1].Contains("Active", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("active", await browser.TextAsync("#payments-state"));
        Assert.Equal("active", await browser.TextAsync("#calls-state"));
        await browser.WaitForSelectorAsync("#calls-chart");
        await browser.ScreenshotAsync("overview");
        (await fixture.AgentA.EndAsync(started)).Ok();
    }

    [Fact]
    public async Task SessionDetail_ShowsTheReceiptsFullTransactionHash_ForASessionAnAgentStarted()
    {
        var (sessionId, url, transaction) = await PaidStartAsync(fixture.AgentA);
        await using var browser = await SignedInAsync();

        await browser.GoToAsync(Host.Url("/console/sessions"));
        await browser.SubmitFormAsync("form#session-search", new Dictionary<string, string> { ["input[name=q]"] = sessionId });
        var row = SessionRow(sessionId);
        var listed = Assert.Single(await browser.RowsAsync(row, "td.session-id", "td.agent", "td.endpoint", "td.state", "td.calls"));
        Assert.Contains(sessionId, listed[0], StringComparison.Ordinal);
        Assert.Equal(GatewayHost.AgentAId, listed[1]);
        Assert.Contains(url, listed[2], StringComparison.Ordinal);
        Assert.Equal("active", listed[3]);
        Assert.Equal("1", listed[4]);
        await browser.ClickAndWaitAsync(row + " a.session-link");

        Assert.Equal($"/console/sessions/{sessionId}", browser.Url.AbsolutePath);
        Assert.Equal(sessionId, await browser.TextAsync("#session-id"));
        Assert.Equal(GatewayHost.AgentAId, await browser.TextAsync("#session-agent"));
        Assert.Contains(url, await browser.TextAsync("#session-endpoint"), StringComparison.Ordinal);
        Assert.Equal("active", await browser.TextAsync("#session-state"));
        Assert.Equal("1", await browser.TextAsync("#session-calls"));
        Assert.Contains(await browser.TextsAsync("table#receipts tr.receipt"), r => r.Contains(transaction, StringComparison.OrdinalIgnoreCase));
        Assert.True(await browser.ExistsAsync("form#end-session"));
        await browser.ScreenshotAsync("session-detail");
        (await fixture.AgentA.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task EndSession_RefusesTheAgentsNextFetch_WhenEndedFromTheConsole()
    {
        var (sessionId, _, _) = await PaidStartAsync(fixture.AgentA);
        (await fixture.AgentA.FetchAsync(sessionId)).Ok();
        await using var browser = await SignedInAsync();

        await EndSessionAsync(browser, sessionId);

        Assert.Equal("ended", await browser.TextAsync("#session-state"));
        Assert.False(await browser.ExistsAsync("form#end-session"));
        Assert.Contains("ended", (await fixture.AgentA.FetchAsync(sessionId)).Error(), StringComparison.Ordinal);
        Assert.Equal("ended", (await fixture.AgentA.StatusAsync(sessionId)).Ok().Single().Str("status"));
        await browser.ScreenshotAsync("session-ended");
    }

    [Fact]
    public async Task SuspendAgent_RefusesItsNextStartUntilResumed_WhenSuspendedOnTheAgentsPage()
    {
        await using var browser = await SignedInAsync();
        await browser.GoToAsync(Host.Url("/console/agents"));
        Assert.Equal("active", await browser.TextAsync(AgentRow(GatewayHost.AgentBId) + " td.state"));

        await SetAgentSuspendedAsync(browser, GatewayHost.AgentBId, suspended: true);

        Assert.Equal("suspended", await browser.TextAsync(AgentRow(GatewayHost.AgentBId) + " td.state"));
        Assert.Equal("active", await browser.TextAsync(AgentRow(GatewayHost.AgentAId) + " td.state"));
        var refused = (await fixture.AgentB.StartAsync(Host.Url("/demo/free"))).Error();
        Assert.Contains("suspended", refused, StringComparison.Ordinal);
        Assert.Contains($"agent '{GatewayHost.AgentBId}' is suspended by the operator", refused, StringComparison.Ordinal);
        var other = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");
        (await fixture.AgentA.EndAsync(other)).Ok();
        await browser.ScreenshotAsync("agent-suspended");

        await SetAgentSuspendedAsync(browser, GatewayHost.AgentBId, suspended: false);

        Assert.Equal("active", await browser.TextAsync(AgentRow(GatewayHost.AgentBId) + " td.state"));
        var resumed = (await fixture.AgentB.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");
        (await fixture.AgentB.EndAsync(resumed)).Ok();
    }

    [Fact]
    public async Task PausePayments_RefusesPaidStartsButServesPaidSessions_UntilResumed()
    {
        var (sessionId, _, _) = await PaidStartAsync(fixture.AgentA);
        await using var browser = await SignedInAsync();

        await ControlAsync(browser, "pause-payments");

        Assert.Equal("paused", await browser.TextAsync("#payments-state"));
        var before = await Host.GetStatsAsync();
        var refused = (await fixture.AgentA.StartAsync(Host.Url($"/demo/items/{Guid.NewGuid():N}"))).Error();
        Assert.Contains("payments are paused by the operator", refused, StringComparison.Ordinal);
        Assert.Equal(before.Payments, (await Host.GetStatsAsync()).Payments);
        Assert.Equal("sign-in-with-x", (await fixture.AgentA.FetchAsync(sessionId)).Ok().Structured.Str("access"));
        await browser.ScreenshotAsync("payments-paused");

        await ControlAsync(browser, "resume-payments");

        Assert.Equal("active", await browser.TextAsync("#payments-state"));
        var (paid, _, _) = await PaidStartAsync(fixture.AgentA);
        Assert.Equal(before.Payments + 1, (await Host.GetStatsAsync()).Payments);
        (await fixture.AgentA.EndAsync(paid)).Ok();
        (await fixture.AgentA.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task StopCalls_RefusesAPaidSessionsFetch_UntilResumed()
    {
        var (sessionId, url, _) = await PaidStartAsync(fixture.AgentA);
        var path = new Uri(url).AbsolutePath;
        await using var browser = await SignedInAsync();

        await ControlAsync(browser, "stop-calls");

        Assert.Equal("stopped", await browser.TextAsync("#calls-state"));
        Assert.Equal("active", await browser.TextAsync("#payments-state"));
        var before = await Host.GetStatsAsync();
        Assert.Contains("calls are stopped by the operator", (await fixture.AgentA.FetchAsync(sessionId)).Error(), StringComparison.Ordinal);
        Assert.Equal(before.ServedOn(path), (await Host.GetStatsAsync()).ServedOn(path));
        await browser.ScreenshotAsync("calls-stopped");

        await ControlAsync(browser, "resume-calls");

        Assert.Equal("active", await browser.TextAsync("#calls-state"));
        Assert.Equal(200, (await fixture.AgentA.FetchAsync(sessionId)).Ok()["status"].GetInt32());
        (await fixture.AgentA.EndAsync(sessionId)).Ok();
    }

    [Theory]
    [InlineData("wrong-console-key-0123456789abcdefghijkl", "signin-wrong-key")]
    [InlineData(GatewayHost.AgentAKey, "signin-agent-key")]
    public async Task SignIn_ShowsNotAccepted_WhenTheKeyIsNotAnOperators(string key, string screenshot)
    {
        await using var browser = await BrowserSession.LaunchAsync();

        var refused = await SignInAsync(browser, key);

        Assert.Equal(401, (int)refused.Status);
        Assert.Contains("not accepted", await browser.TextAsync("#signin-error"), StringComparison.Ordinal);
        Assert.Null(await browser.CookieAsync(ConsoleFixture.CookieName));
        await browser.ScreenshotAsync(screenshot);
        await browser.GoToAsync(Host.Url("/console"));
        Assert.Equal("/console/signin", browser.Url.AbsolutePath);
    }

    [Fact]
    public async Task PausePayments_Returns400AndChangesNothing_WithoutAntiforgeryToken()
    {
        await using var browser = await SignedInAsync();
        var cookie = await browser.CookieAsync(ConsoleFixture.CookieName);
        Assert.NotNull(cookie);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, Host.Url("/console/controls/pause-payments"))
        {
            Content = new FormUrlEncodedContent([]),
        };
        request.Headers.TryAddWithoutValidation("Cookie", $"{cookie.Name}={cookie.Value}");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await browser.GoToAsync(Host.Url("/console"));
        Assert.Equal("active", await browser.TextAsync("#payments-state"));
        Assert.False((await fixture.ControlsAsync()).PaymentsPaused);
        await browser.ScreenshotAsync("antiforgery-refused");
    }

    [Fact]
    public async Task Audit_ListsEachConsoleActionWithItsOperator_AfterTheyAreTaken()
    {
        var (sessionId, _, _) = await PaidStartAsync(fixture.AgentA);
        await using var browser = await SignedInAsync();
        await ControlAsync(browser, "pause-payments");
        await ControlAsync(browser, "resume-payments");
        await ControlAsync(browser, "stop-calls");
        await ControlAsync(browser, "resume-calls");
        await browser.GoToAsync(Host.Url("/console/agents"));
        await SetAgentSuspendedAsync(browser, GatewayHost.AgentBId, suspended: true);
        await SetAgentSuspendedAsync(browser, GatewayHost.AgentBId, suspended: false);
        await EndSessionAsync(browser, sessionId);

        await browser.GoToAsync(Host.Url("/console/audit"));

        var entries = await browser.RowsAsync("table#audit tr.audit-entry", "td.operator", "td.action", "td.target");
        Assert.Contains(entries, e => e[0] == "admin" && e[1] == "sign-in");
        foreach (var action in new[] { "pause-payments", "resume-payments", "stop-calls", "resume-calls" })
        {
            Assert.Contains(entries, e => e[0] == "admin" && e[1] == action);
        }

        Assert.Contains(entries, e => e[0] == "admin" && e[1] == "suspend-agent" && e[2].Contains(GatewayHost.AgentBId, StringComparison.Ordinal));
        Assert.Contains(entries, e => e[0] == "admin" && e[1] == "resume-agent" && e[2].Contains(GatewayHost.AgentBId, StringComparison.Ordinal));
        Assert.Contains(entries, e => e[0] == "admin" && e[1] == "end-session" && e[2].Contains(sessionId, StringComparison.Ordinal));
        await browser.ScreenshotAsync("audit");
    }

    [Fact]
    public async Task Payments_ListsThePaidStartAndExportsItAsCsv_ForTheAgent()
    {
        var (sessionId, _, transaction) = await PaidStartAsync(fixture.AgentA);
        await using var browser = await SignedInAsync();

        await browser.GoToAsync(Host.Url($"/console/payments?agent={GatewayHost.AgentAId}"));

        var rows = await browser.RowsAsync("table#payments tr.payment", "td.agent", "td.session", "td.transaction", "td.amount");
        var paid = Assert.Single(rows, r => r[2].Contains(transaction, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(GatewayHost.AgentAId, paid[0]);
        Assert.Contains(sessionId, paid[1], StringComparison.Ordinal);
        Assert.True(paid[3].Contains("1000", StringComparison.Ordinal) || paid[3].Contains("0.001", StringComparison.Ordinal), paid[3]);
        Assert.All(rows, r => Assert.Equal(GatewayHost.AgentAId, r[0]));
        await browser.ScreenshotAsync("payments");
        var href = await browser.AttributeAsync("a#export-csv", "href");
        Assert.NotNull(href);
        var export = new Uri(browser.Url, href).PathAndQuery;
        Assert.StartsWith("/console/payments.csv", export, StringComparison.Ordinal);
        Assert.Contains("agent=" + GatewayHost.AgentAId, export, StringComparison.Ordinal);

        var csv = await browser.FetchAsync(href);

        Assert.Equal(200, csv.Status);
        Assert.StartsWith("text/csv", csv.ContentType, StringComparison.OrdinalIgnoreCase);
        var lines = csv.Body.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(CsvHeader, lines[0]);
        var line = Assert.Single(lines, l => l.Contains(transaction, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(sessionId, line, StringComparison.Ordinal);
        Assert.Contains(GatewayHost.AgentAId, line, StringComparison.Ordinal);
        (await fixture.AgentA.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task Dashboard_RedirectsToSignIn_WhenSignedOut()
    {
        await using var browser = await BrowserSession.LaunchAsync();

        var response = await browser.GoToAsync(Host.Url("/console/dashboard/"));

        Assert.Equal(200, (int)response.Status);
        Assert.Equal("/console/signin", browser.Url.AbsolutePath);
        await browser.WaitForSelectorAsync("form#signin input#key[type=password]");
        await browser.ScreenshotAsync("dashboard-signed-out");
    }

    [Fact]
    public async Task Dashboard_Serves200_WhenSignedIn()
    {
        await using var browser = await SignedInAsync();

        var response = await browser.GoToAsync(Host.Url("/console/dashboard/"));

        Assert.Equal(200, (int)response.Status);
        Assert.StartsWith("/console/dashboard", browser.Url.AbsolutePath, StringComparison.Ordinal);
        await browser.ScreenshotAsync("dashboard");
    }

    private static string AgentRow(string agentId) => $"table#agents tr.agent[data-agent-id=\"{agentId}\"]";

    private static string SessionRow(string sessionId) => $"table#sessions tr.session[data-session-id=\"{sessionId}\"]";

    /// <summary>Submits the sign-in form with <paramref name="key"/>; returns the response the browser ended on.</summary>
    private async Task<PuppeteerSharp.IResponse> SignInAsync(BrowserSession browser, string key)
    {
        await browser.GoToAsync(Host.Url("/console/signin"));
        return await browser.SubmitFormAsync("form#signin", new Dictionary<string, string> { ["input#key"] = key });
    }

    /// <summary>A fresh browser signed in as the "admin" operator, on the overview.</summary>
    private async Task<BrowserSession> SignedInAsync()
    {
        var browser = await BrowserSession.LaunchAsync();
        try
        {
            var landed = await SignInAsync(browser, ConsoleFixture.AdminKey);
            Assert.Equal(200, (int)landed.Status);
            Assert.Equal("/console", browser.Url.AbsolutePath.TrimEnd('/'));
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Submits one of the overview's control forms (pause-payments, resume-payments, stop-calls, resume-calls).</summary>
    private async Task ControlAsync(BrowserSession browser, string control)
    {
        if (browser.Url.AbsolutePath.TrimEnd('/') != "/console")
        {
            await browser.GoToAsync(Host.Url("/console"));
        }

        var response = await browser.SubmitFormAsync($"form#{control}");
        Assert.Equal(200, (int)response.Status);
        Assert.Equal("/console", browser.Url.AbsolutePath.TrimEnd('/'));
    }

    /// <summary>Suspends or resumes an agent from its row on the agents page (where the browser is).</summary>
    private static async Task SetAgentSuspendedAsync(BrowserSession browser, string agentId, bool suspended)
    {
        var response = await browser.SubmitFormAsync(AgentRow(agentId) + (suspended ? " form.suspend-agent" : " form.resume-agent"));
        Assert.Equal(200, (int)response.Status);
        Assert.Equal("/console/agents", browser.Url.AbsolutePath);
        Assert.Equal(suspended ? "suspended" : "active", await browser.TextAsync(AgentRow(agentId) + " td.state"));
    }

    /// <summary>Ends a session from its detail page.</summary>
    private async Task EndSessionAsync(BrowserSession browser, string sessionId)
    {
        await browser.GoToAsync(Host.Url($"/console/sessions/{sessionId}"));
        Assert.Equal("active", await browser.TextAsync("#session-state"));
        var response = await browser.SubmitFormAsync("form#end-session");
        Assert.Equal(200, (int)response.Status);
        Assert.Equal($"/console/sessions/{sessionId}", browser.Url.AbsolutePath);
    }

    /// <summary>A start that pays (a path the demo paywall has never been paid for): its session id, URL and transaction hash.</summary>
    private async Task<(string SessionId, string Url, string Transaction)> PaidStartAsync(McpClient agent)
    {
        var url = Host.Url($"/demo/items/{Guid.NewGuid():N}");
        var start = (await agent.StartAsync(url)).Ok();
        Assert.Equal("paid", start.Structured.Str("payment_note"));
        return (start.Structured.Str("session_id"), url, start["payment"].Str("transaction"));
    }
}

/// <summary>
/// One host with the console enabled (operator "admin") for <see cref="ConsoleBrowserTests"/>, with an MCP client per agent, and
/// the reset of the fleet controls each test starts from.
/// </summary>
public sealed class ConsoleFixture : GatewayFixture
{
    /// <summary>The "admin" operator's key (40 characters, distinct from the agents' keys).</summary>
    public const string AdminKey = "console-test-admin-key-0123456789abcdefg";

    /// <summary>The console's cookie (page contract).</summary>
    public const string CookieName = "x402_console";

    private const string ResetOperator = "test-reset";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["X402:Admin:ApiKey"] = AdminKey,

        // Every test signs in from 127.0.0.1; the per-IP limit (default 5 a minute) is for attackers, not this suite.
        ["X402:Console:SignInAttemptsPerMinute"] = "1000",
    };

    private IOperatorControlGrain ControlGrain => Host.Services.GetRequiredService<IGrainFactory>().GetGrain<IOperatorControlGrain>(0);

    /// <summary>The fleet controls in force, read from the cluster (not through the console).</summary>
    public Task<FleetControls> ControlsAsync() => ControlGrain.GetControls();

    /// <summary>Nothing paused, stopped or suspended (only what a previous test left changed, so the audit trail stays quiet).</summary>
    public async Task ResetControlsAsync()
    {
        var grain = ControlGrain;
        var controls = await grain.GetControls();
        if (controls.PaymentsPaused)
        {
            await grain.SetPaymentsPaused(ResetOperator, paused: false);
        }

        if (controls.CallsStopped)
        {
            await grain.SetCallsStopped(ResetOperator, stopped: false);
        }

        foreach (var agent in controls.SuspendedAgents)
        {
            await grain.SetAgentSuspended(ResetOperator, agent, suspended: false);
        }
    }
}
