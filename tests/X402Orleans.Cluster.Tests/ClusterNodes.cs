using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// The production shape as processes: two silos and one standalone gateway of one AdoNet cluster (in
/// <paramref name="connectionString"/>'s database) on fixed loopback ports, restartable. The silos hold the test wallet and,
/// unless <paramref name="siloExtra"/> says otherwise, do not co-host MCP; the gateway is keyless and knows the test agent.
/// <paramref name="siloExtra"/> and <paramref name="gatewayExtra"/> are added to (and override) those settings.
/// </summary>
public sealed class ClusterNodes(
    string connectionString,
    string logs,
    IReadOnlyDictionary<string, string>? siloExtra = null,
    IReadOnlyDictionary<string, string>? gatewayExtra = null) : IAsyncDisposable
{
    private readonly int[] _ports = TestEnvironment.FreePorts(7);
    private readonly string _clusterId = $"t{Guid.NewGuid():N}"[..12];

    /// <summary>The test agent and the payment limits the tests rely on (the gateway always has them).</summary>
    public static IReadOnlyDictionary<string, string> AgentSettings { get; } = new Dictionary<string, string>
    {
        ["X402__Agents__0__Id"] = TestEnvironment.AgentId,
        ["X402__Agents__0__ApiKey"] = TestEnvironment.AgentKey,
        ["X402__Payments__MaxPayment"] = "0.10",
        ["X402__Sessions__MinTtlSeconds"] = "5",
    };

    public NodeProcess?[] Silos { get; } = new NodeProcess?[2];

    public NodeProcess? Gateway { get; private set; }

    public IEnumerable<NodeProcess> All => Silos.Append(Gateway).OfType<NodeProcess>();

    /// <summary>
    /// Runs <paramref name="test"/> against a new (not yet started) cluster logging to <paramref name="folder"/>/logs, then
    /// disposes the cluster. On failure the nodes' log tails go to <paramref name="output"/> and the folder is kept (its path
    /// written too); on success the folder is deleted.
    /// </summary>
    public static async Task RunAsync(
        string connectionString,
        string folder,
        ITestOutputHelper output,
        Func<ClusterNodes, Task> test,
        IReadOnlyDictionary<string, string>? siloExtra = null,
        IReadOnlyDictionary<string, string>? gatewayExtra = null)
    {
        var logs = Path.Combine(folder, "logs");
        var cluster = new ClusterNodes(connectionString, logs, siloExtra, gatewayExtra);
        var failed = false;
        try
        {
            await test(cluster);
        }
        catch
        {
            output.WriteLine(cluster.LogTails());
            failed = true;
            throw;
        }
        finally
        {
            await cluster.DisposeAsync();
            if (failed)
            {
                output.WriteLine($"logs kept in {logs}");
            }
            else
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    /// <summary>Starts (or restarts) every node and waits until each is healthy.</summary>
    public async Task StartAllAsync()
    {
        for (var i = 0; i < 2; i++)
        {
            var env = Common();
            env["X402__Cluster__SiloPort"] = _ports[1 + (i * 3)].ToString(CultureInfo.InvariantCulture);
            env["X402__Cluster__GatewayPort"] = _ports[2 + (i * 3)].ToString(CultureInfo.InvariantCulture);
            env["X402__Cluster__HostMcp"] = "false";
            env["X402__Wallet__PrivateKey"] = TestEnvironment.WalletKey;
            env["X402__Sessions__ReminderPeriodSeconds"] = "5";
            Add(env, siloExtra);
            if (Silos[i] is { } old)
            {
                await old.DisposeAsync();
            }

            Silos[i] = NodeProcess.Start($"silo-{i + 1}", TestEnvironment.SiloDll, _ports[i * 3], env, logs);
        }

        // Keyless: the gateway process holds no wallet key; the silos sign.
        var gateway = Common();
        Add(gateway, AgentSettings);
        Add(gateway, gatewayExtra);
        if (Gateway is { } oldGateway)
        {
            await oldGateway.DisposeAsync();
        }

        Gateway = NodeProcess.Start("gateway", TestEnvironment.GatewayDll, _ports[6], gateway, logs);
        await Task.WhenAll(All.Select(n => n.WaitHealthyAsync(TimeSpan.FromSeconds(120))));
    }

    /// <summary>Stops the gateway, then the silos (SIGTERM).</summary>
    public async Task StopAllAsync()
    {
        await Gateway!.StopAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(Silos.OfType<NodeProcess>().Select(s => s.StopAsync(TimeSpan.FromSeconds(30))));
    }

    /// <summary>The demo paywall's counters on <paramref name="node"/> (default: the gateway): served calls per path, payments taken.</summary>
    public async Task<(Dictionary<string, long> Served, long Payments)> PaywallStatsAsync(NodeProcess? node = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri((node ?? Gateway!).BaseUri, "/demo/_stats")));
        var served = json.RootElement.GetProperty("served").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
        return (served, json.RootElement.GetProperty("payments").GetInt64());
    }

    /// <summary>The last lines of every node's log (for a failure's message).</summary>
    public string LogTails(int lines = 40)
    {
        var text = new StringBuilder();
        foreach (var node in All)
        {
            text.Append(CultureInfo.InvariantCulture, $"--- {node.Name} ({node.LogPath})\n{node.Tail(lines)}\n");
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var node in All.ToList())
        {
            await node.DisposeAsync();
        }
    }

    private static void Add(Dictionary<string, string> settings, IReadOnlyDictionary<string, string>? extra)
    {
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
    }

    private Dictionary<string, string> Common() => new()
    {
        ["X402__Cluster__Mode"] = "AdoNet",
        ["ConnectionStrings__X402"] = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 10 }.ConnectionString,
        ["X402__Cluster__ClusterId"] = _clusterId,
    };
}
