using System.Text.RegularExpressions;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using ChildProcess = X402Orleans.Testing.ChildProcess;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// The MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, Node 22) against our Streamable HTTP endpoint, every server
/// scenario of its active suite, with <c>conformance-baseline.yml</c> listing the scenarios that do not apply to this server (see
/// docs/testing.md: why each one). The suite itself fails the run when a scenario outside the baseline fails or one inside it starts passing.
/// It runs against a host without agents (the suite sends no credentials), i.e. the anonymous loopback mode.
/// </summary>
[Collection(StackCollection.Name)]
public sealed partial class ConformanceTests(StackFixture fixture)
{
    /// <summary>Scenarios any MCP server of this kind must pass.</summary>
    public static readonly string[] MustPass = ["server-initialize", "ping", "tools-list", "logging-set-level", "dns-rebinding-protection"];

    [Fact]
    public async Task ServerScenarios_PassExceptTheBaselinedOnesThatDoNotApply()
    {
        await using var host = await EmbeddedGateway.StartAsync(fixture.Stack, fixture.Stack.FundedWallets[2], withAgent: false);
        var baseline = Path.Combine(AppContext.BaseDirectory, "conformance-baseline.yml");
        var results = Directory.CreateTempSubdirectory("x402-conformance-");
        try
        {
            var output = await ChildProcess.RunAsync(
                Prerequisites.Node22,
                [Prerequisites.NodeModule(Path.Combine("@modelcontextprotocol", "conformance", "dist", "index.js")), "server", "--url", host.McpUri.AbsoluteUri, "--expected-failures", baseline, "-o", results.FullName],
                Prerequisites.Interop,
                TimeSpan.FromSeconds(120),
                environment: new Dictionary<string, string> { ["HOME"] = results.FullName, ["NO_COLOR"] = "1" });

            Assert.True(output.ExitCode == 0, $"conformance suite (baseline {baseline}): {output.Describe()}");
            var passed = SummaryLine().Matches(output.Stdout).Where(m => m.Groups["mark"].Value == "✓" && m.Groups["failed"].Value == "0" && m.Groups["passed"].Value != "0").Select(m => m.Groups["name"].Value).ToHashSet();
            Assert.Superset(MustPass.ToHashSet(), passed);
        }
        finally
        {
            results.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("evil.example.com", null)]
    [InlineData(null, "http://evil.example.com")]
    public async Task AnonymousMode_RefusesRequestsNamingAnotherHostOrOrigin_DnsRebinding(string? host, string? origin)
    {
        await using var gateway = await EmbeddedGateway.StartAsync(fixture.Stack, fixture.Stack.FundedWallets[2], withAgent: false);
        using var http = new HttpClient();

        using var refused = await http.SendAsync(InitializeRequest(gateway.McpUri, host, origin));
        using var served = await http.SendAsync(InitializeRequest(gateway.McpUri, host: null, origin: origin is null ? null : gateway.BaseUri.GetLeftPart(UriPartial.Authority)));

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("DNS-rebinding", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, served.StatusCode);
    }

    private static HttpRequestMessage InitializeRequest(Uri mcp, string? host, string? origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, mcp)
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"rebinding-test","version":"1"}}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        if (origin is not null)
        {
            request.Headers.TryAddWithoutValidation("Origin", origin);
        }

        return request;
    }

    [GeneratedRegex(@"^(?<mark>[✓✗])\s+(?<name>[\w./-]+):\s+(?<passed>\d+) passed,\s+(?<failed>\d+) failed", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();
}
