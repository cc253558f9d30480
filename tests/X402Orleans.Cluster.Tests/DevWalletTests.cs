using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Demo;
using Xunit.Abstractions;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// With no key configured, Local mode on a file keeps one development wallet in the state folder and the demo paywall remembers who
/// paid, so a restart neither changes the wallet nor pays again for a path already paid.
/// </summary>
public sealed class DevWalletTests(ITestOutputHelper output)
{
    [Fact]
    public void LoadOrCreateDevWallet_CreatesOwnerOnlyKeyFileAndLogsAddressNotKey_WhenMissing()
    {
        var folder = TestEnvironment.TempFolder("x402-devwallet-unit");
        try
        {
            var path = Path.Combine(folder, "state", WalletFactory.DevWalletFileName);
            var logger = new ListLogger();

            var created = WalletFactory.LoadOrCreateDevWallet(path, logger);
            var reused = WalletFactory.LoadOrCreateDevWallet(path, logger);

            Assert.Equal(created.Address, reused.Address);
            var key = File.ReadAllText(path).Trim();
            Assert.Matches("^0x[0-9a-f]{64}$", key);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            Assert.Equal(2, logger.Lines.Count);
            Assert.All(logger.Lines, l => Assert.Contains(created.Address, l, StringComparison.Ordinal));
            Assert.All(logger.Lines, l => Assert.Contains(path, l, StringComparison.Ordinal));
            Assert.All(logger.Lines, l => Assert.DoesNotContain(key[2..], l, StringComparison.OrdinalIgnoreCase));
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Create_GeneratesThrowawayWalletAndWarns_WhenClusterModeHasNoKey()
    {
        var logger = new ListLogger();
        var options = Microsoft.Extensions.Options.Options.Create(new X402Options());

        var first = WalletFactory.Create(options, logger, DevWalletMode.Cluster, null);
        var second = WalletFactory.Create(options, logger, DevWalletMode.Cluster, null);

        Assert.NotEqual(first.Address, second.Address);
        Assert.All(logger.Lines, l => Assert.Contains("AdoNet (cluster) mode", l, StringComparison.Ordinal));
    }

    [Fact]
    public void DemoPaidStore_KeepsPaymentsAcrossInstances_WhenReopened()
    {
        var folder = TestEnvironment.TempFolder("x402-demopaid-unit");
        try
        {
            var path = Path.Combine(folder, DemoPaidStore.FileName);
            new DemoPaidStore(path).Add("/demo/weather", "0x00000000000000000000000000000000000000aa");

            var reopened = new DemoPaidStore(path);

            Assert.Equal([new DemoPaidStore.PaidEntry("/demo/weather", "0x00000000000000000000000000000000000000aa")], reopened.Entries);
            Assert.Single(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Restart_KeepsDevWalletAndSignsInWithoutPayingAgain_WhenNoKeyConfigured()
    {
        var folder = TestEnvironment.TempFolder("x402-devwallet");
        var state = Path.Combine(folder, "state");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var environment = new Dictionary<string, string>
            {
                ["X402__Storage__Path"] = Path.Combine(state, "x402.db"),
                ["X402__Cluster__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
                ["X402__Agents__0__Id"] = TestEnvironment.AgentId,
                ["X402__Agents__0__ApiKey"] = TestEnvironment.AgentKey,
                ["X402__Payments__MaxPayment"] = "0.10",
                ["Logging__LogLevel__X402Orleans.Wallet"] = "Information",
            };
            var logs = Path.Combine(folder, "logs");
            var keyFile = Path.Combine(state, WalletFactory.DevWalletFileName);

            string address;
            string firstLog;
            await using (var first = NodeProcess.Start("devwallet-1", TestEnvironment.SiloDll, ports[0], environment, logs))
            {
                await first.WaitHealthyAsync(TimeSpan.FromSeconds(90));
                await using var agent = await McpAgent.ConnectAsync(new Uri(first.BaseUri, "/mcp"), TestEnvironment.AgentKey);
                var started = (await agent.StartAsync(first.BaseUri + "demo/weather")).Ok();
                Assert.Equal("paid", started["payment_note"].GetString());
                address = (await agent.CallAsync("x402_wallet_status", [])).Ok()["address"].GetString()!;
                Assert.Equal(1, (await StatsAsync(first.BaseUri)).GetProperty("payments").GetInt64());
                first.Kill();
                firstLog = first.Tail(100_000);
            }

            Assert.True(File.Exists(keyFile));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }

            Assert.True(File.Exists(Path.Combine(state, DemoPaidStore.FileName)));
            Assert.Contains($"created the development wallet {address} in {keyFile}", firstLog, StringComparison.Ordinal);

            // Started again on the same state folder: the same wallet, and the paywall still knows it paid for /demo/weather.
            await using var second = NodeProcess.Start("devwallet-2", TestEnvironment.SiloDll, ports[0], environment, logs);
            await second.WaitHealthyAsync(TimeSpan.FromSeconds(90));
            await using (var agent = await McpAgent.ConnectAsync(new Uri(second.BaseUri, "/mcp"), TestEnvironment.AgentKey))
            {
                Assert.Equal(address, (await agent.CallAsync("x402_wallet_status", [])).Ok()["address"].GetString());
                var paymentsBefore = (await StatsAsync(second.BaseUri)).GetProperty("payments").GetInt64();
                var again = (await agent.StartAsync(second.BaseUri + "demo/weather")).Ok();
                Assert.Equal("access by sign-in-with-x (already paid)", again["payment_note"].GetString());
                var stats = await StatsAsync(second.BaseUri);
                Assert.Equal(paymentsBefore, stats.GetProperty("payments").GetInt64());
                Assert.True(stats.GetProperty("sign_ins").GetInt64() >= 1);
            }

            await second.StopAsync(TimeSpan.FromSeconds(30));
            var secondLog = second.Tail(100_000);
            Assert.Contains($"using the development wallet {address} from {keyFile}", secondLog, StringComparison.Ordinal);
            var key = File.ReadAllText(keyFile).Trim()[2..];
            Assert.DoesNotContain(key, firstLog, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(key, secondLog, StringComparison.OrdinalIgnoreCase);
            output.WriteLine($"dev wallet {address} kept across a kill -9; second start signed in without paying");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<JsonElement> StatsAsync(Uri baseUri)
    {
        using var http = new HttpClient();
        return await http.GetFromJsonAsync<JsonElement>(new Uri(baseUri, "/demo/_stats"));
    }

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            _lines.Enqueue(formatter(state, exception));
        }
    }
}
