using System.Globalization;
using System.Text.Json.Nodes;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using ChildProcess = X402Orleans.Testing.ChildProcess;
using ProcessOutput = X402Orleans.Testing.ProcessOutput;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// MCP clients nobody here wrote: the official TypeScript SDK client (@modelcontextprotocol/sdk) over Streamable HTTP and over stdio
/// (spawning the built silo with <c>--stdio</c>), and the MCP inspector CLI. Each drives real paid sessions on the local chain.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class OfficialMcpClientTests(StackFixture fixture)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(150);
    private static readonly string[] SessionTools = ["x402_session_start", "x402_session_fetch", "x402_session_status", "x402_session_end"];

    private X402Stack Stack => fixture.Stack;

    [Fact]
    public async Task TypeScriptSdk_OverStreamableHttp_DrivesAllFourTools()
    {
        var ns = StackFixture.NewNamespace();
        var input = new JsonObject
        {
            ["transport"] = "http",
            ["url"] = fixture.Gateway.McpUri.AbsoluteUri,
            ["headers"] = new JsonObject { ["Authorization"] = $"Bearer {EmbeddedGateway.ApiKey}" },
        };

        await DriveAllFourToolsAsync(input, ns, fixture.Payer);
    }

    [Fact]
    public async Task TypeScriptSdk_OverStdio_SpawnsTheSilo_AndDrivesAllFourTools()
    {
        var ns = StackFixture.NewNamespace();
        var wallet = Stack.FundedWallets[1];
        var ports = EmbeddedGateway.FreePorts(2);
        var environment = new JsonObject
        {
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Orleans"] = "Warning",
            ["Logging__LogLevel__Microsoft"] = "Warning",
        };
        foreach (var (key, value) in EmbeddedGateway.PaymentSettings(Stack, wallet, ports[0], ports[1]))
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var silo = Prerequisites.SiloDll;
        var input = new JsonObject
        {
            ["transport"] = "stdio",
            ["command"] = "dotnet",
            ["args"] = new JsonArray(silo, "--stdio"),
            ["cwd"] = Path.GetDirectoryName(silo),
            ["env"] = environment,
        };

        var output = await DriveAllFourToolsAsync(input, ns, wallet);
        Assert.Equal("x402orleans", output["serverInfo"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task InspectorCli_ListsTheTools_AndStartsAPaidSession()
    {
        var ns = StackFixture.NewNamespace();
        var endpoint = Stack.MainServer + $"/api/{ns}/weather";
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.PayTo("main"));
        var home = Directory.CreateTempSubdirectory("x402-inspector-home-");
        try
        {
            var list = await InspectorAsync(home.FullName, "--method", "tools/list");
            var tools = JsonNode.Parse(list.Stdout)!["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();
            Assert.Superset(SessionTools.ToHashSet(), tools.ToHashSet());

            var call = await InspectorAsync(home.FullName, "--method", "tools/call", "--tool-name", "x402_session_start", "--tool-arg", $"endpoint={endpoint}");
            var result = JsonNode.Parse(call.Stdout)!;
            Assert.NotEqual(true, result["isError"]?.GetValue<bool>());
            var structured = result["structuredContent"]!;
            Assert.Equal(Stack.Price("weather").ToString(CultureInfo.InvariantCulture), structured["payment"]!["amount_atomic"]!.GetValue<string>());
            Assert.Equal(-Stack.Price("weather"), await ledger.DeltaAsync(fixture.Payer.Address));
            Assert.Equal(Stack.Price("weather"), await ledger.DeltaAsync(Stack.PayTo("main")));
            (await fixture.Client.EndAsync(structured["session_id"]!.GetValue<string>())).Ok();
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private async Task<ProcessOutput> InspectorAsync(string home, params string[] arguments)
    {
        string[] all =
        [
            Prerequisites.NodeModule(Path.Combine("@modelcontextprotocol", "inspector", "clients", "launcher", "build", "index.js")),
            "--cli", fixture.Gateway.McpUri.AbsoluteUri, "--transport", "http",
            "--header", $"Authorization: Bearer {EmbeddedGateway.ApiKey}",
            .. arguments,
        ];
        var output = await ChildProcess.RunAsync(Prerequisites.Node22, all, Prerequisites.Interop, TimeSpan.FromSeconds(90), environment: new Dictionary<string, string> { ["HOME"] = home, ["NO_COLOR"] = "1" });
        Assert.True(output.ExitCode == 0, $"mcp-inspector --cli {string.Join(' ', arguments)}: {output.Describe()}");
        return output;
    }

    /// <summary>start (paid) → fetch (sign-in) → status → end through mcp-client.mjs; checks the answers, the chain and the server.</summary>
    private async Task<JsonObject> DriveAllFourToolsAsync(JsonObject input, string ns, Wallet wallet)
    {
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.MainServer + $"/api/{ns}/weather";
        var payTo = Stack.PayTo("main");
        var price = Stack.Price("weather");
        var ledger = await Ledger.TakeAsync(Stack, wallet.Address, payTo);
        input["steps"] = new JsonArray(
            Step("x402_session_start", new JsonObject { ["endpoint"] = endpoint, ["label"] = "official client" }),
            Step("x402_session_fetch", new JsonObject { ["session_id"] = "{{session_id}}" }),
            Step("x402_session_status", new JsonObject { ["session_id"] = "{{session_id}}" }),
            Step("x402_session_end", new JsonObject { ["session_id"] = "{{session_id}}" }));

        var output = await NodeScript.RunAsync("mcp-client.mjs", input, ClientTimeout);

        var tools = output["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToHashSet();
        Assert.Superset(SessionTools.ToHashSet(), tools);
        Assert.All(output["tools"]!.AsArray().Where(t => SessionTools.Contains(t!["name"]!.GetValue<string>())), t => Assert.True(t!["hasOutputSchema"]!.GetValue<bool>()));
        var results = output["results"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.All(results, r => Assert.False(r["isError"]!.GetValue<bool>(), $"{r["tool"]}: {r["text"]}"));
        var start = results[0]["structuredContent"]!;
        Assert.Equal(price.ToString(CultureInfo.InvariantCulture), start["payment"]!["amount_atomic"]!.GetValue<string>());
        Assert.Equal(wallet.Address, start["payment"]!["payer"]!.GetValue<string>(), ignoreCase: true);
        Assert.Equal("sign-in-with-x", results[1]["structuredContent"]!["access"]!.GetValue<string>());
        var session = results[2]["structuredContent"]!["sessions"]![0]!;
        Assert.Equal("official client", session["label"]!.GetValue<string>());
        Assert.Equal(2, session["call_count"]!.GetValue<long>());
        var end = results[3]["structuredContent"]!;
        Assert.Equal("ended", end["outcome"]!.GetValue<string>());
        Assert.Equal(2, end["call_count"]!.GetValue<long>());

        Assert.Equal(-price, await ledger.DeltaAsync(wallet.Address));
        Assert.Equal(price, await ledger.DeltaAsync(payTo));
        var stats = await Stack.GetStatsAsync();
        Assert.Single(stats.Settlements("main", prefix));
        Assert.Equal(2, stats.Delivered("main", prefix));
        return output;
    }

    private static JsonObject Step(string tool, JsonObject arguments) => new() { ["tool"] = tool, ["arguments"] = arguments };
}
