using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using X402Orleans.Silo;
using X402Orleans.Testing;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Our embedded host (Orleans silo + MCP gateway), in this process, on free loopback ports, configured to pay with
/// <paramref name="wallet"/> in the stack's token on the stack's chain and allowed to reach loopback targets.
/// </summary>
public sealed class EmbeddedGateway : IAsyncDisposable
{
    /// <summary>The agent configured on every host here.</summary>
    public const string AgentId = "e2e-agent";

    /// <summary>Its API key.</summary>
    public const string ApiKey = "e2e-agent-key-0123456789abcdef";

    private readonly WebApplication _app;

    private EmbeddedGateway(WebApplication app, Uri baseUri, Wallet wallet, bool withAgent)
    {
        _app = app;
        HasAgent = withAgent;
        BaseUri = baseUri;
        Wallet = wallet;
    }

    /// <summary>http://127.0.0.1:port.</summary>
    public Uri BaseUri { get; }

    /// <summary>Streamable HTTP endpoint.</summary>
    public Uri McpUri => new(BaseUri, "/mcp");

    /// <summary>Whether requests must carry the agent's API key.</summary>
    public bool HasAgent { get; }

    /// <summary>The wallet this host pays with.</summary>
    public Wallet Wallet { get; }

    /// <summary>The co-hosted silo's grains (for a test that plays a server the suites do not have).</summary>
    public IGrainFactory Grains => _app.Services.GetRequiredService<IGrainFactory>();

    /// <summary>
    /// The settings every host here gets (shared with the stdio silo, as environment variables). <paramref name="withRpc"/> adds the
    /// optional <c>X402:Payments:Rpc:0</c> setting (the stack's network and the local chain's JSON-RPC URL).
    /// </summary>
    public static Dictionary<string, string> PaymentSettings(NodeStack stack, Wallet wallet, int siloPort, int gatewayPort, bool withRpc = false)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(wallet);
        var settings = new Dictionary<string, string>
        {
            ["X402:Cluster:SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["X402:Cluster:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["X402:Wallet:PrivateKey"] = wallet.PrivateKey,
            ["X402:Payments:Assets:0:Network"] = stack.Network,
            ["X402:Payments:Assets:0:Address"] = stack.Token,
            ["X402:Payments:Assets:0:Decimals"] = "6",
            ["X402:Payments:Assets:0:Symbol"] = "USDC",
            ["X402:Payments:MaxPayment"] = "0.10",
            ["X402:Http:AllowPrivateTargets"] = "true",
            ["X402:Demo:Enabled"] = "false",

            // grain state in memory: these hosts are throwaway, and must not share (or leave) a SQLite file in the user's data folder
            ["X402:Storage:Path"] = ":memory:",
        };
        if (withRpc)
        {
            settings["X402:Payments:Rpc:0:Network"] = stack.Network;
            settings["X402:Payments:Rpc:0:Url"] = stack.RpcUrl;
        }

        return settings;
    }

    /// <summary>
    /// Starts a host (retrying on another set of ports if one was taken meanwhile). With <paramref name="withAgent"/> one agent with
    /// an API key is configured (<see cref="ApiKey"/>); without, the host serves the anonymous agent to loopback callers.
    /// <paramref name="withRpc"/>: the silo reads the chain (<see cref="PaymentSettings"/>).
    /// </summary>
    public static async Task<EmbeddedGateway> StartAsync(NodeStack stack, Wallet wallet, bool withAgent = true, bool withRpc = false)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var ports = FreePorts(3);
            var baseUri = new Uri($"http://127.0.0.1:{ports[0]}");
            var settings = PaymentSettings(stack, wallet, ports[1], ports[2], withRpc).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
            settings["Logging:LogLevel:Default"] = "Warning";
            settings["Logging:LogLevel:Orleans"] = "Warning";
            settings["Logging:LogLevel:Microsoft"] = "Warning";
            if (withAgent)
            {
                settings["X402:Agents:0:Id"] = AgentId;
                settings["X402:Agents:0:ApiKey"] = ApiKey;
            }

            var app = X402Host.CreateWebApp(["--urls", baseUri.GetLeftPart(UriPartial.Authority)], b => b.Configuration.AddInMemoryCollection(settings));
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await app.StartAsync(limit.Token);
                return new EmbeddedGateway(app, baseUri, wallet, withAgent);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException || ex.GetType().FullName?.StartsWith("Orleans", StringComparison.Ordinal) == true)
            {
                last = ex;
                await app.DisposeAsync();
            }
        }

        throw new InvalidOperationException("the embedded host did not start", last);
    }

    /// <summary>A C# MCP client over Streamable HTTP with the agent's key.</summary>
    public Task<McpClient> ConnectAsync() => McpTools.ConnectAsync(McpUri, HasAgent ? ApiKey : null, "x402orleans-e2e");

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Hosts.StopAndDisposeAsync(_app);

    /// <summary>Distinct free loopback TCP ports (held together while chosen, so they differ).</summary>
    public static int[] FreePorts(int count) => X402Orleans.Testing.FreePorts.Take(count);
}
