using System.Diagnostics;
using System.Globalization;
using ModelContextProtocol.Client;
using Npgsql;
using X402Orleans.Testing;

namespace X402Orleans.Bench;

/// <summary>CPU used during one measured window, in cores (CPU seconds per wall second).</summary>
/// <param name="Processes">Per process: the two silos, the gateway process and this benchmark process (the MCP clients).</param>
/// <param name="MachineBusyCores">The whole machine's busy cores (from /proc/stat; PostgreSQL and anything else running are the rest).</param>
internal sealed record CpuShare(IReadOnlyDictionary<string, double> Processes, double MachineBusyCores);

/// <summary>PostgreSQL as sampled (every 100 ms) while fetches ran at the top level, and its durability settings.</summary>
/// <param name="Version">server_version.</param>
/// <param name="SynchronousCommit">synchronous_commit.</param>
/// <param name="Fsync">fsync.</param>
/// <param name="MaxConnections">max_connections.</param>
/// <param name="MaxOpen">Most connections to the benchmark database at once (every pool's open connections).</param>
/// <param name="MaxActive">Most connections running a statement at once.</param>
/// <param name="MeanActive">Mean connections running a statement.</param>
/// <param name="CommitsPerSecond">Transactions committed per second in the benchmark database during the window.</param>
internal sealed record PostgresSample(string Version, string SynchronousCommit, string Fsync, int MaxConnections, int MaxOpen, int MaxActive, double MeanActive, double CommitsPerSecond);

/// <summary>The AdoNet (production-shaped) run: its levels and what bounded the top one.</summary>
/// <param name="Topology">What ran, in words.</param>
/// <param name="PoolPerSilo">Npgsql Maximum Pool Size of each silo.</param>
/// <param name="Levels">gateway_fetch / noop_tool / session_start per concurrency.</param>
/// <param name="FetchCpu">CPU while gateway_fetch ran at the top level.</param>
/// <param name="Postgres">PostgreSQL while gateway_fetch ran at the top level.</param>
internal sealed record AdoNetResult(string Topology, int PoolPerSilo, IReadOnlyList<LevelResult> Levels, CpuShare? FetchCpu, PostgresSample? Postgres)
{
    /// <summary>gateway_fetch at the highest concurrency measured.</summary>
    public LoadResult? TopFetch => Levels.Where(l => l.Scenarios.ContainsKey(Report.Gateway)).MaxBy(l => l.Concurrency)?.Scenarios[Report.Gateway];
}

/// <summary>
/// AdoNet mode, as deployed: PostgreSQL (a fresh database), two silo processes (MCP off, the first applies the schema) and one
/// standalone gateway process (MCP, wallet, demo paywall), each <c>dotnet &lt;dll&gt;</c> built in this benchmark's configuration,
/// on loopback ports. The C# MCP clients call the gateway process's <c>/mcp</c>; sessions are on its demo paywall.
/// Everything started here is stopped at the end, also on failure.
/// </summary>
internal static class ClusterBench
{
    private const int PoolDefault = 20;
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(120);

    /// <summary>Starts the cluster, measures, stops everything.</summary>
    public static async Task<AdoNetResult> RunAsync(BenchOptions options, string root)
    {
        var logs = Path.Combine(Path.GetTempPath(), $"x402-bench-adonet-{Guid.NewGuid():N}");
        var pool = options.AdoNetPool ?? PoolDefault;
        await using var cluster = new Cluster(root, logs);
        var failed = false;
        try
        {
            await cluster.StartAsync(options.AdoNetConnection, pool);
            Console.Error.WriteLine($"AdoNet cluster up: 2 silos + gateway process ({NodeProcess.Configuration} build), PostgreSQL {cluster.Database}, pool {pool} per silo; logs {logs}");
            return await MeasureAsync(options, cluster, pool);
        }
        catch
        {
            failed = true;
            foreach (var node in cluster.Nodes)
            {
                Console.Error.WriteLine($"--- {node.Name} ({node.LogPath})\n{node.Tail(30)}");
            }

            throw;
        }
        finally
        {
            await cluster.DisposeAsync();
            if (!failed)
            {
                Directory.Delete(logs, recursive: true);
            }
        }
    }

    private static async Task<AdoNetResult> MeasureAsync(BenchOptions options, Cluster cluster, int pool)
    {
        var gateway = cluster.Gateway!.BaseUri;
        var maxConcurrency = options.Concurrency.Max();
        var clients = new McpClient[Math.Max(1, (maxConcurrency + 15) / 16)];
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                clients[i] = await McpTools.ConnectAsync(new Uri(gateway, "/mcp"), BenchHost.AgentKey, "x402orleans-bench-adonet");
            }

            var weather = new Uri(gateway, "/demo/weather").AbsoluteUri;
            var sessions = new string[maxConcurrency];
            for (var i = 0; i < sessions.Length; i++)
            {
                sessions[i] = await DurableBench.StartSessionAsync(clients[0], weather);
            }

            var levels = new List<LevelResult>();
            CpuShare? cpu = null;
            PostgresSample? postgres = null;
            foreach (var c in options.Concurrency)
            {
                var results = new Dictionary<string, LoadResult>(StringComparer.Ordinal);
                if (options.Runs(Report.Gateway))
                {
                    var top = c == maxConcurrency;
                    using var sampler = top ? new ActivitySampler(cluster) : null;
                    results[Report.Gateway] = await MeasureAsync(options, Report.Gateway, c, w => DurableBench.FetchAsync(clients[w % clients.Length], sessions[w]), sampler);
                    if (sampler is not null)
                    {
                        (cpu, postgres) = (sampler.Cpu, sampler.Postgres);
                        Console.Error.WriteLine($"    CPU cores: {string.Join(", ", cpu!.Processes.Select(p => $"{p.Key} {p.Value:F2}"))}, machine {cpu.MachineBusyCores:F2}; PostgreSQL: {postgres!.MaxOpen} open, active max {postgres.MaxActive} mean {postgres.MeanActive:F1}, {postgres.CommitsPerSecond:F0} commits/s");
                    }
                }

                if (options.Runs(Report.Noop))
                {
                    results[Report.Noop] = await MeasureAsync(options, Report.Noop, c, w => DurableBench.NoopAsync(clients[w % clients.Length]), null);
                }

                if (options.Runs(Report.Start))
                {
                    var paid = new Uri(gateway, DurableBench.PaidRoute).AbsoluteUri;
                    results[Report.Start] = await MeasureAsync(options, Report.Start, c, w => DurableBench.StartAsync(clients[w % clients.Length], paid, mustPay: true), null);
                }

                levels.Add(new LevelResult(c, results, Report.Ratios(results)));
            }

            const string topology = "PostgreSQL (fresh database), 2 silo processes (MCP off) + 1 standalone gateway process (MCP, wallet, demo paywall), loopback, C# MCP clients in the benchmark process";
            return new AdoNetResult(topology, pool, levels, cpu, postgres);
        }
        finally
        {
            foreach (var client in clients.OfType<McpClient>())
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task<LoadResult> MeasureAsync(BenchOptions options, string name, int concurrency, Func<int, Task<bool>> call, ActivitySampler? sampler)
    {
        await LoadRunner.RunAsync(concurrency, options.Warmup, TimeSpan.Zero, call);
        sampler?.Begin();
        var result = await LoadRunner.RunAsync(concurrency, TimeSpan.Zero, options.Duration, call);
        if (sampler is not null)
        {
            await sampler.EndAsync();
        }

        LoadRunner.Print($"{name} (AdoNet)", result);
        return result;
    }

    /// <summary>PostgreSQL (ours or given), a fresh database, and the three host processes.</summary>
    private sealed class Cluster(string root, string logs) : IAsyncDisposable
    {
        private string? _pgDir;
        private string? _admin;

        public string? Database { get; private set; }

        public string? ConnectionString { get; private set; }

        public NodeProcess?[] Silos { get; } = new NodeProcess?[2];

        public NodeProcess? Gateway { get; private set; }

        public IEnumerable<NodeProcess> Nodes => Silos.Append(Gateway).OfType<NodeProcess>();

        public async Task StartAsync(string? connection, int pool)
        {
            _admin = connection ?? Environment.GetEnvironmentVariable("X402_TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(_admin))
            {
                var started = await Script("start", null, TimeSpan.FromMinutes(5));
                var exports = started.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(l => l.StartsWith("export ", StringComparison.Ordinal))
                    .Select(l => l["export ".Length..].Split('=', 2))
                    .ToDictionary(p => p[0], p => p[1].Trim('\''), StringComparer.Ordinal);
                _pgDir = exports.GetValueOrDefault("X402_PG_DIR");
                _admin = exports.GetValueOrDefault("X402_TEST_POSTGRES") ?? throw new InvalidOperationException("postgres.sh start printed no connection string:\n" + started.Describe());
            }

            Database = $"x402_bench_{Guid.NewGuid():N}"[..30];
            await ExecuteAsync(_admin, $"CREATE DATABASE {Database}");
            ConnectionString = new NpgsqlConnectionStringBuilder(_admin) { Database = Database, MaxPoolSize = pool }.ConnectionString;
            var ports = FreePorts.Take(7);
            var clusterId = $"bench-{Guid.NewGuid():N}"[..14];
            Dictionary<string, string> Common() => new()
            {
                ["X402__Cluster__Mode"] = "AdoNet",
                ["ConnectionStrings__X402"] = ConnectionString,
                ["X402__Cluster__ClusterId"] = clusterId,
                ["Logging__LogLevel__Orleans.Runtime.MembershipService"] = "Warning",
            };

            for (var i = 0; i < Silos.Length; i++)
            {
                var env = Common();
                env["X402__Cluster__SiloPort"] = ports[1 + (i * 3)].ToString(CultureInfo.InvariantCulture);
                env["X402__Cluster__GatewayPort"] = ports[2 + (i * 3)].ToString(CultureInfo.InvariantCulture);
                env["X402__Cluster__HostMcp"] = "false";
                env["X402__Wallet__PrivateKey"] = BenchHost.WalletKey;
                env["X402__Storage__ApplySchema"] = i == 0 ? "true" : "false";
                Silos[i] = NodeProcess.Start($"silo-{i + 1}", NodeProcess.HostDll(root, "X402Orleans.Silo"), ports[i * 3], env, logs);
                if (i == 0)
                {
                    // The first silo applies the schema; the second starts once it is there.
                    await Silos[0]!.WaitHealthyAsync(Ready, "/health/ready");
                }
            }

            var gateway = Common();
            // Keyless: the gateway process holds no wallet key; the silos sign.
            gateway["X402__Agents__0__Id"] = BenchHost.AgentId;
            gateway["X402__Agents__0__ApiKey"] = BenchHost.AgentKey;
            gateway["X402__Payments__MaxPayment"] = "0.10";
            gateway["X402__Demo__Enabled"] = "true";
            gateway["X402__Diagnostics__NoopTool"] = "true";
            Gateway = NodeProcess.Start("gateway", NodeProcess.HostDll(root, "X402Orleans.GatewayHost"), ports[6], gateway, logs);
            await Task.WhenAll(Nodes.Select(n => n.WaitHealthyAsync(Ready, "/health/ready")));
        }

        public async ValueTask DisposeAsync()
        {
            if (Gateway is not null)
            {
                await Gateway.StopAsync(TimeSpan.FromSeconds(20));
            }

            await Task.WhenAll(Silos.OfType<NodeProcess>().Select(s => s.StopAsync(TimeSpan.FromSeconds(20))));
            foreach (var node in Nodes)
            {
                await node.DisposeAsync();
            }

            (Gateway, Silos[0], Silos[1]) = (null, null, null);
            NpgsqlConnection.ClearAllPools();
            if (_pgDir is not null)
            {
                await Script("stop", new Dictionary<string, string> { ["X402_PG_DIR"] = _pgDir }, TimeSpan.FromMinutes(1));
                _pgDir = null;
            }
            else if (_admin is not null && Database is not null)
            {
                await ExecuteAsync(_admin, $"DROP DATABASE IF EXISTS {Database} WITH (FORCE)");
            }

            (_admin, Database) = (null, null);
        }

        private async Task<ProcessOutput> Script(string verb, Dictionary<string, string>? environment, TimeSpan timeout)
        {
            var output = await ChildProcess.RunAsync("bash", [Path.Combine(root, ".ci", "postgres.sh"), verb], root, timeout, environment: environment);
            return output.ExitCode == 0 ? output : throw new InvalidOperationException($"postgres.sh {verb} failed: {output.Describe()}");
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Per-process CPU and PostgreSQL activity over one window.</summary>
    private sealed class ActivitySampler(Cluster cluster) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<(int Open, int Active)> _samples = [];
        private Dictionary<string, TimeSpan> _cpu0 = [];
        private (long Busy, long Total) _machine0;
        private long _commits0;
        private long _started;
        private Task? _polling;

        public CpuShare? Cpu { get; private set; }

        public PostgresSample? Postgres { get; private set; }

        public void Begin()
        {
            _cpu0 = Processes();
            _machine0 = Machine();
            _started = Stopwatch.GetTimestamp();
            _polling = PollAsync();
        }

        public async Task EndAsync()
        {
            var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            var cpu1 = Processes();
            var machine1 = Machine();
            await _stop.CancelAsync();
            await _polling!;
            var busy = (machine1.Total - _machine0.Total) is > 0 and var total ? (machine1.Busy - _machine0.Busy) / (double)total * Environment.ProcessorCount : double.NaN;
            Cpu = new CpuShare(cpu1.ToDictionary(p => p.Key, p => Math.Round((p.Value - _cpu0[p.Key]).TotalSeconds / seconds, 3), StringComparer.Ordinal), Math.Round(busy, 3));
            await using var connection = new NpgsqlConnection(cluster.ConnectionString);
            await connection.OpenAsync();
            var commits = await CommitsAsync(connection) - _commits0;
            await using var settings = new NpgsqlCommand("SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync'), current_setting('max_connections')::int", connection);
            await using var reader = await settings.ExecuteReaderAsync();
            await reader.ReadAsync();
            var active = _samples.Count == 0 ? [(0, 0)] : _samples;
            Postgres = new PostgresSample(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), active.Max(s => s.Open), active.Max(s => s.Active), Math.Round(active.Average(s => s.Active), 2), Math.Round(commits / seconds, 0));
        }

        public void Dispose() => _stop.Dispose();

        private async Task PollAsync()
        {
            await using var connection = new NpgsqlConnection(cluster.ConnectionString);
            await connection.OpenAsync();
            _commits0 = await CommitsAsync(connection);
            await using var command = new NpgsqlCommand("SELECT count(*)::int, (count(*) FILTER (WHERE state = 'active'))::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", connection);
            while (!_stop.IsCancellationRequested)
            {
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    await reader.ReadAsync();
                    _samples.Add((reader.GetInt32(0), reader.GetInt32(1)));
                }

                try
                {
                    await Task.Delay(100, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        private static async Task<long> CommitsAsync(NpgsqlConnection connection)
        {
            // Statistics are snapshotted per transaction: clear the snapshot so each read sees the current counter.
            await using var command = new NpgsqlCommand("SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.NextResultAsync();
            await reader.ReadAsync();
            return reader.GetInt64(0);
        }

        private Dictionary<string, TimeSpan> Processes()
        {
            var cpu = cluster.Nodes.ToDictionary(n => n.Name, n => n.ProcessorTime, StringComparer.Ordinal);
            using var self = Process.GetCurrentProcess();
            cpu["bench (clients)"] = self.TotalProcessorTime;
            return cpu;
        }

        private static (long Busy, long Total) Machine()
        {
            if (!File.Exists("/proc/stat"))
            {
                return (0, 0);
            }

            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var idle = fields[3] + fields[4];
            var total = fields.Take(8).Sum();
            return (total - idle, total);
        }
    }
}
