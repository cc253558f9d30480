using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// The operator console in the production shape on real PostgreSQL: two silo processes (each co-hosting MCP and the console)
/// and one standalone gateway process. One sign-in works at every process (the data-protection key ring is the cluster's),
/// the overview shows the whole cluster, and an operator's action taken at one process reaches what agents do through another.
/// </summary>
public sealed class ConsoleClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan MembershipWait = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Console_SteersTheWholeCluster_FromTheGatewayProcessAndFromEverySilo()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: true);
        var folder = TestEnvironment.TempFolder("x402-console-cluster");
        var operatorKey = new Dictionary<string, string> { ["X402__Admin__ApiKey"] = ConsoleClient.AdminKey };
        var silo = new Dictionary<string, string>(ClusterNodes.AgentSettings) { ["X402__Cluster__HostMcp"] = "true" };
        foreach (var (key, value) in operatorKey)
        {
            silo[key] = value;
        }

        await ClusterNodes.RunAsync(db.ConnectionString, folder, output, siloExtra: silo, gatewayExtra: operatorKey, test: async cluster =>
        {
            var clock = Stopwatch.StartNew();
            await cluster.StartAllAsync();
            output.WriteLine($"cluster up (2 silos co-hosting the console + gateway) in {clock.Elapsed.TotalSeconds:F1}s");
            var gateway = cluster.Gateway!;
            var silo1 = cluster.Silos[0]!;

            // 1. Signed in at the gateway process (no silo in it), the overview lists both silos as Active.
            using var atGateway = new ConsoleClient(gateway.BaseUri);
            await atGateway.SignInAsOperatorAsync();
            var silos = await ActiveSilosAsync(atGateway, expected: 2);
            output.WriteLine($"overview at the gateway: {string.Join(", ", silos)}");

            // 2. The gateway's cookie opens silo-1's console; without it, silo-1 refuses.
            using (var stranger = new ConsoleClient(silo1.BaseUri))
            using (var refused = await stranger.GetAsync("/console/api/overview"))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }

            using var atSilo = new ConsoleClient(silo1.BaseUri, atGateway.Cookies);
            using (var overview = await atSilo.GetAsync("/console/api/overview"))
            {
                Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
            }

            Assert.Contains("id=\"operator-name\">admin<", await atSilo.GetPageAsync("/console"), StringComparison.Ordinal);

            // 3. A session started through the gateway's MCP, ended by the operator at silo-1: the agent's next fetch is refused.
            await using var agent = await McpAgent.ConnectAsync(new Uri(gateway.BaseUri, "/mcp"), TestEnvironment.AgentKey);
            var started = (await agent.StartAsync(gateway.BaseUri + "demo/items/console-end")).Ok();
            var id = started["session_id"].GetString()!;
            (await agent.FetchAsync(id)).Ok();
            var detail = await atSilo.GetPageAsync($"/console/sessions/{id}");
            Assert.Contains("id=\"end-session\"", detail, StringComparison.Ordinal);
            using (var end = await atSilo.PostFormAsync($"/console/sessions/{id}/end", new Dictionary<string, string>(), detail))
            {
                Assert.Equal(HttpStatusCode.Redirect, end.StatusCode);
            }

            var afterEnd = await agent.FetchAsync(id);
            Assert.True(afterEnd.IsError, $"a fetch on a session the operator ended was served: {afterEnd.Text}");
            Assert.Contains("was ended", afterEnd.Text, StringComparison.Ordinal);
            Assert.Contains("id=\"session-state\">ended<", await atGateway.GetPageAsync($"/console/sessions/{id}"), StringComparison.Ordinal);

            // 4. Payments paused at the gateway's console: a paid start through silo-1's MCP is refused and nothing is paid;
            //    resumed at silo-1's console, the same start pays.
            await using var siloAgent = await McpAgent.ConnectAsync(new Uri(silo1.BaseUri, "/mcp"), TestEnvironment.AgentKey);
            var paidEndpoint = silo1.BaseUri + "demo/items/console-paused";
            await PostControlAsync(atGateway, "pause-payments");
            var paymentsBefore = (await cluster.PaywallStatsAsync(silo1)).Payments;
            var paused = await siloAgent.StartAsync(paidEndpoint);
            Assert.True(paused.IsError, $"a paid start was served while payments were paused: {paused.Text}");
            Assert.Contains("payments are paused by the operator", paused.Text, StringComparison.Ordinal);
            Assert.Equal(paymentsBefore, (await cluster.PaywallStatsAsync(silo1)).Payments);

            await PostControlAsync(atSilo, "resume-payments");
            Assert.Equal("paid", (await siloAgent.StartAsync(paidEndpoint)).Ok()["payment_note"].GetString());
            Assert.Equal(paymentsBefore + 1, (await cluster.PaywallStatsAsync(silo1)).Payments);

            // Both processes' actions are in the one audit trail.
            var audit = await atGateway.GetPageAsync("/console/audit");
            Assert.All(["end-session", "pause-payments", "resume-payments"], action => Assert.Contains(action, audit, StringComparison.Ordinal));
            output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1}s");
        });
    }

    /// <summary>Posts a control form of the overview page (with that page's antiforgery token); asserts the redirect back.</summary>
    private static async Task PostControlAsync(ConsoleClient console, string control)
    {
        var page = await console.GetPageAsync("/console");
        using var response = await console.PostFormAsync($"/console/controls/{control}", new Dictionary<string, string>(), page);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console", response.Headers.Location?.OriginalString);
    }

    /// <summary>
    /// GET /console/api/overview until it lists <paramref name="expected"/> silos, all Active (membership reaches a new silo's
    /// peers within seconds), at most <see cref="MembershipWait"/>; returns the silos as "address status".
    /// </summary>
    private static async Task<List<string>> ActiveSilosAsync(ConsoleClient console, int expected)
    {
        var deadline = DateTime.UtcNow + MembershipWait;
        while (true)
        {
            using var response = await console.GetAsync("/console/api/overview");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /console/api/overview: {(int)response.StatusCode}\n{body}");
            using var json = JsonDocument.Parse(body);
            var silos = json.RootElement.GetProperty("silos").EnumerateArray()
                .Select(s => (Address: s.GetProperty("address").GetString()!, Status: s.GetProperty("status").GetString()!))
                .ToList();
            if (silos.Count == expected && silos.All(s => s.Status == "Active"))
            {
                return [.. silos.Select(s => $"{s.Address} {s.Status}")];
            }

            Assert.True(DateTime.UtcNow < deadline, $"the overview did not list {expected} Active silos within {MembershipWait.TotalSeconds}s: {body}");
            await Task.Delay(250);
        }
    }
}
