using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Microsoft.Extensions.Hosting;
using ModelContextProtocol.Client;
using X402Orleans.Silo;

namespace X402Orleans.Bench;

/// <summary>
/// The real embedded host (silo + MCP gateway + demo paywall), as <c>dotnet run --project silo/X402Orleans.Silo</c> builds it, on
/// free loopback ports, with a fixed well-known test wallet, API-key agents (<see cref="AgentId"/> and, when asked, more) and the
/// diagnostics no-op tool on.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    /// <summary>Hardhat account #0: a public test key that never holds real funds.</summary>
    public const string WalletKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    public const string AgentId = "bench";

    public const string AgentKey = "bench-key-0123456789abcdef-0123456789";

    private BenchHost(WebApplication app, Uri baseUri)
    {
        App = app;
        BaseUri = baseUri;
    }

    public WebApplication App { get; }

    public Uri BaseUri { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Starts the host with <paramref name="agents"/> agents: <see cref="AgentId"/>, then <c>bench-1</c>, <c>bench-2</c>, … (see <see cref="ConnectAsync"/>).</summary>
    public static async Task<BenchHost> StartAsync(string storage, TimeSpan? collectionAge, int agents = 1)
    {
        var ports = X402Orleans.Testing.FreePorts.Take(3);
        var baseUri = new Uri($"http://127.0.0.1:{ports[0]}");
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Error",
            ["Logging:LogLevel:Microsoft"] = "Warning",
            ["X402:Cluster:SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["X402:Cluster:GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
            ["X402:Wallet:PrivateKey"] = WalletKey,
            ["X402:Storage:Path"] = storage,
            ["X402:Payments:MaxPayment"] = "0.10",
            ["X402:Demo:Enabled"] = "true",
            ["X402:Agents:0:Id"] = AgentId,
            ["X402:Agents:0:ApiKey"] = AgentKey,
            ["X402:Diagnostics:NoopTool"] = "true",
            ["X402:Sessions:IdleCollectionSeconds"] = collectionAge is { } idle ? idle.TotalSeconds.ToString(CultureInfo.InvariantCulture) : null,
        };
        for (var i = 1; i < agents; i++)
        {
            settings[$"X402:Agents:{i}:Id"] = Agent(i).Id;
            settings[$"X402:Agents:{i}:ApiKey"] = Agent(i).Key;
        }

        var app = X402Host.CreateWebApp(["--urls", baseUri.GetLeftPart(UriPartial.Authority)], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            if (collectionAge is { } age)
            {
                b.Services.Configure<GrainCollectionOptions>(o =>
                {
                    o.CollectionAge = age;
                    o.CollectionQuantum = TimeSpan.FromSeconds(Math.Max(1, Math.Min(age.TotalSeconds / 4, 60)));
                });
            }
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await app.StartAsync(timeout.Token);
        return new BenchHost(app, baseUri);
    }

    public string Url(string path) => new Uri(BaseUri, path).AbsoluteUri;

    /// <summary>An MCP client over Streamable HTTP, as agent <paramref name="agent"/> (0: <see cref="AgentId"/>).</summary>
    public async Task<McpClient> ConnectAsync(int agent = 0)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(BaseUri, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {Agent(agent).Key}" },
            Name = "x402orleans-bench",
        });
        return await McpClient.CreateAsync(transport);
    }

    private static (string Id, string Key) Agent(int i) =>
        i == 0 ? (AgentId, AgentKey) : (string.Create(CultureInfo.InvariantCulture, $"{AgentId}-{i}"), string.Create(CultureInfo.InvariantCulture, $"{AgentKey}-{i}"));

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await App.StopAsync(timeout.Token);
        }
        finally
        {
            await App.DisposeAsync();
        }
    }
}
