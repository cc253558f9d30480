using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using ModelContextProtocol.Client;
using X402Orleans.Silo;

namespace X402Orleans.Testing;

/// <summary>
/// The real embedded host (Orleans silo + MCP gateway + demo paywall) on Kestrel, on free loopback ports, with a fixed test wallet
/// and two agents. Tools are driven through the C# MCP SDK client over Streamable HTTP.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    /// <summary>A well-known public test key (Hardhat account #0); it never holds real funds.</summary>
    public const string WalletKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    /// <summary>The address of <see cref="WalletKey"/>.</summary>
    public const string WalletAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    public const string AgentAId = "agent-a";
    public const string AgentAKey = "test-key-agent-a-0123456789abcdef";
    public const string AgentBId = "agent-b";
    public const string AgentBKey = "test-key-agent-b-0123456789abcdef";

    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private GatewayHost(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
        _http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The host's own origin, e.g. http://127.0.0.1:12345.</summary>
    public Uri BaseUri { get; }

    /// <summary>The MCP endpoint.</summary>
    public Uri McpUri => new(BaseUri, "/mcp");

    /// <summary>The HTTP port Kestrel listens on.</summary>
    public int Port => BaseUri.Port;

    /// <summary>The host's services (e.g. to stop its silo).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>A GET on this host (health endpoints, demo routes).</summary>
    public Task<HttpResponseMessage> GetAsync(string pathAndQuery) => _http.GetAsync(new Uri(pathAndQuery, UriKind.Relative));

    /// <summary>
    /// Starts a host; retries with other ports if one was taken in between. <paramref name="map"/> adds routes to the built host
    /// before it starts (e.g. a feature mapped by another component).
    /// </summary>
    public static async Task<GatewayHost> StartAsync(IReadOnlyDictionary<string, string?>? extra = null, Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var ports = FreePorts(3);
            var baseUri = new Uri($"http://127.0.0.1:{ports[0]}");
            var settings = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Microsoft"] = "Warning",
                ["X402:Cluster:SiloPort"] = ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["X402:Cluster:GatewayPort"] = ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["X402:Wallet:PrivateKey"] = WalletKey,
                ["X402:Storage:Path"] = ":memory:",
                ["X402:Payments:MaxPayment"] = "0.10",
                ["X402:Demo:Enabled"] = "true",
                ["X402:Agents:0:Id"] = AgentAId,
                ["X402:Agents:0:ApiKey"] = AgentAKey,
                ["X402:Agents:1:Id"] = AgentBId,
                ["X402:Agents:1:ApiKey"] = AgentBKey,
            };
            foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
            {
                settings[key] = value;
            }

            var app = X402Host.CreateWebApp(["--urls", baseUri.GetLeftPart(UriPartial.Authority)], b =>
            {
                b.Configuration.AddInMemoryCollection(settings);
                configure?.Invoke(b);
            });
            map?.Invoke(app);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await app.StartAsync(timeout.Token);
                return new GatewayHost(app, baseUri);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException || ex.GetType().FullName?.StartsWith("Orleans", StringComparison.Ordinal) == true)
            {
                last = ex;
                await app.DisposeAsync();
            }
        }

        throw new InvalidOperationException("The gateway host did not start.", last);
    }

    /// <summary>A URL on this host, e.g. <c>Url("/demo/weather")</c>.</summary>
    public string Url(string pathAndQuery) => new Uri(BaseUri, pathAndQuery).AbsoluteUri;

    /// <summary>An MCP client over Streamable HTTP, presenting <paramref name="apiKey"/> (none when null).</summary>
    public Task<McpClient> ConnectAsync(string? apiKey) => McpTools.ConnectAsync(McpUri, apiKey, "gateway-tests");

    /// <summary>The demo paywall's own counters (what it served and was paid).</summary>
    public async Task<PaywallStats> GetStatsAsync()
    {
        using var response = await _http.GetAsync(new Uri("/demo/_stats", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        var served = root.GetProperty("served").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
        var channels = root.TryGetProperty("channels", out var c)
            ? new ChannelStats(c.GetProperty("deposits").GetInt64(), c.GetProperty("vouchers").GetInt64(), c.GetProperty("refunds").GetInt64())
            : new ChannelStats(0, 0, 0);
        return new PaywallStats(served, root.GetProperty("payments").GetInt64(), root.GetProperty("sign_ins").GetInt64(), channels);
    }

    /// <summary>A raw POST to /mcp (for checking HTTP-level refusals).</summary>
    public async Task<HttpResponseMessage> PostMcpAsync(string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, McpUri)
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await _http.SendAsync(request);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Hosts.StopAndDisposeAsync(_app);
    }

    /// <summary>Distinct free loopback TCP ports (held together while chosen, so they differ).</summary>
    public static int[] FreePorts(int count) => X402Orleans.Testing.FreePorts.Take(count);
}

/// <summary>The demo paywall's counters.</summary>
public sealed record PaywallStats(IReadOnlyDictionary<string, long> Served, long Payments, long SignIns, ChannelStats? Channels = null)
{
    /// <summary>Calls served on <paramref name="path"/>.</summary>
    public long ServedOn(string path) => Served.TryGetValue(path, out var n) ? n : 0;
}

/// <summary>The demo paywall's batch-settlement counters: deposits made, vouchers accepted (with a deposit or alone), refunds made.</summary>
public sealed record ChannelStats(long Deposits, long Vouchers, long Refunds);
