using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using X402Orleans.Silo;
using Xunit.Abstractions;

namespace X402Orleans.Cluster.Tests;

/// <summary>The one-command Local mode keeps its sessions in a SQLite file: across a graceful stop and a kill -9, and purges ended ones after the retention.</summary>
public sealed class LocalModeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Restart_KeepsSessionsCountsReceiptsAndExpiries()
    {
        var folder = TestEnvironment.TempFolder("x402-local");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var environment = new Dictionary<string, string>
            {
                ["X402__Storage__Path"] = Path.Combine(folder, "state", "x402.db"),
                ["X402__Cluster__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
                ["X402__Wallet__PrivateKey"] = TestEnvironment.WalletKey,
                ["X402__Agents__0__Id"] = TestEnvironment.AgentId,
                ["X402__Agents__0__ApiKey"] = TestEnvironment.AgentKey,
                ["X402__Payments__MaxPayment"] = "0.10",
            };
            var logs = Path.Combine(folder, "logs");

            Dictionary<string, SessionView> before;
            List<string> liveBefore;
            await using (var first = NodeProcess.Start("local-1", TestEnvironment.SiloDll, ports[0], environment, logs))
            {
                await first.WaitHealthyAsync(TimeSpan.FromSeconds(90));
                await using var agent = await McpAgent.ConnectAsync(new Uri(first.BaseUri, "/mcp"), TestEnvironment.AgentKey);
                var a = (await agent.StartAsync(first.BaseUri + "demo/items/a")).Ok()["session_id"].GetString()!;
                var b = (await agent.StartAsync(first.BaseUri + "demo/items/b", ttlSeconds: 600)).Ok()["session_id"].GetString()!;
                var c = (await agent.StartAsync(first.BaseUri + "demo/weather")).Ok()["session_id"].GetString()!;
                for (var i = 0; i < 3; i++)
                {
                    (await agent.FetchAsync(a)).Ok();
                }

                (await agent.FetchAsync(b)).Ok();
                (await agent.EndAsync(c)).Ok();
                before = await ViewsAsync(agent, a, b, c);
                Assert.Equal(4, before[a].CallCount);
                Assert.Equal(2, before[b].CallCount);
                Assert.Equal("ended", before[c].Status);
                Assert.All(before.Values, v => Assert.NotEmpty(v.Transactions));
                liveBefore = await LiveAsync(agent);
                Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), liveBefore);
                await first.StopAsync(TimeSpan.FromSeconds(30));
            }

            // Graceful stop, then start again on the same file.
            await AssertRestoredAsync("local-2", kill: true);

            // kill -9 of that one, then start again: still all there.
            await AssertRestoredAsync("local-3", kill: false);

            async Task AssertRestoredAsync(string name, bool kill)
            {
                await using var node = NodeProcess.Start(name, TestEnvironment.SiloDll, ports[0], environment, logs);
                await node.WaitHealthyAsync(TimeSpan.FromSeconds(90));
                await using (var agent = await McpAgent.ConnectAsync(new Uri(node.BaseUri, "/mcp"), TestEnvironment.AgentKey))
                {
                    Assert.Equal(before, await ViewsAsync(agent, [.. before.Keys]));
                    Assert.Equal(liveBefore, await LiveAsync(agent));
                }

                output.WriteLine($"{name}: {before.Count} sessions restored (counts, receipts, expiries)");
                if (kill)
                {
                    node.Kill();
                }
                else
                {
                    await node.StopAsync(TimeSpan.FromSeconds(30));
                }
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Restart_ExpiresASessionWhoseTimeRanOutWhileStopped_WithoutAnyCall()
    {
        var folder = TestEnvironment.TempFolder("x402-local-expiry");
        var dbPath = Path.Combine(folder, "x402.db");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var environment = new Dictionary<string, string>
            {
                ["X402__Storage__Path"] = dbPath,
                ["X402__Cluster__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["X402__Cluster__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
                ["X402__Wallet__PrivateKey"] = TestEnvironment.WalletKey,
                ["X402__Agents__0__Id"] = TestEnvironment.AgentId,
                ["X402__Agents__0__ApiKey"] = TestEnvironment.AgentKey,
                ["X402__Sessions__MinTtlSeconds"] = "5",
                ["X402__Sessions__ReminderPeriodSeconds"] = "2",
            };
            var logs = Path.Combine(folder, "logs");
            string id;
            DateTimeOffset expiresAt;
            await using (var first = NodeProcess.Start("local-expiry-1", TestEnvironment.SiloDll, ports[0], environment, logs))
            {
                await first.WaitHealthyAsync(TimeSpan.FromSeconds(90));
                await using var agent = await McpAgent.ConnectAsync(new Uri(first.BaseUri, "/mcp"), TestEnvironment.AgentKey);
                var started = (await agent.StartAsync(first.BaseUri + "demo/items/soon", ttlSeconds: 6)).Ok();
                id = started["session_id"].GetString()!;
                expiresAt = DateTimeOffset.Parse(started["expires_at"].GetString()!, CultureInfo.InvariantCulture);
                first.Kill();
            }

            Assert.Equal("active", await StoredStatusAsync(dbPath, id));
            var wait = expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            // Started again after the expiry: the stored reminder expires the session although nobody asks for it.
            await using var second = NodeProcess.Start("local-expiry-2", TestEnvironment.SiloDll, ports[0], environment, logs);
            await second.WaitHealthyAsync(TimeSpan.FromSeconds(90));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            string? status;
            do
            {
                await Task.Delay(250);
                status = await StoredStatusAsync(dbPath, id);
            }
            while (status == "active" && DateTime.UtcNow < deadline);

            Assert.Equal("expired", status);
            output.WriteLine($"expired in the SQLite file {(DateTimeOffset.UtcNow - expiresAt).TotalSeconds:F1}s after expires_at (process was down at expiry)");
            await second.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task EndedSession_IsPurgedAfterTheRetention()
    {
        var folder = TestEnvironment.TempFolder("x402-purge");
        var dbPath = Path.Combine(folder, "x402.db");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var url = $"http://127.0.0.1:{ports[0].ToString(CultureInfo.InvariantCulture)}";
            var settings = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Warning",
                ["X402:Storage:Path"] = dbPath,
                ["X402:Cluster:SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["X402:Cluster:GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
                ["X402:Sessions:RetentionSeconds"] = "1",
                ["X402:Sessions:ReminderPeriodSeconds"] = "1",
                ["X402:Wallet:PrivateKey"] = TestEnvironment.WalletKey,
                ["X402:Agents:0:Id"] = TestEnvironment.AgentId,
                ["X402:Agents:0:ApiKey"] = TestEnvironment.AgentKey,
            };
            var app = X402Host.CreateWebApp(["--urls", url], b => b.Configuration.AddInMemoryCollection(settings));
            await using (app)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await app.StartAsync(timeout.Token);
                await using var agent = await McpAgent.ConnectAsync(new Uri(url + "/mcp"), TestEnvironment.AgentKey);
                var id = (await agent.StartAsync(url + "/demo/weather")).Ok()["session_id"].GetString()!;
                Assert.Equal(1, await SessionRowsAsync(dbPath));
                Assert.Equal("ended", (await agent.EndAsync(id)).Ok()["outcome"].GetString());

                var deadline = DateTime.UtcNow.AddSeconds(30);
                ToolOutcome status;
                do
                {
                    await Task.Delay(250);
                    status = await agent.StatusAsync(id);
                }
                while (!status.IsError && DateTime.UtcNow < deadline);

                Assert.True(status.IsError, "the ended session was not purged within 30 s");
                Assert.Contains("Session not found", status.Text, StringComparison.Ordinal);
                Assert.Equal(0, await SessionRowsAsync(dbPath));
                await app.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static async Task<Dictionary<string, SessionView>> ViewsAsync(McpAgent agent, params string[] ids)
    {
        var views = new Dictionary<string, SessionView>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            views[id] = SessionView.From(await agent.StatusAsync(id));
        }

        return views;
    }

    internal static async Task<List<string>> LiveAsync(McpAgent agent) =>
        [.. (await agent.StatusAsync()).Ok()["sessions"].EnumerateArray().Select(s => s.GetProperty("session_id").GetString()!).Order(StringComparer.Ordinal)];

    /// <summary>The stored status of a session, read from the SQLite file's JSON (no grain involved).</summary>
    private static async Task<string?> StoredStatusAsync(string dbPath, string sessionId)
    {
        var bytes = Guid.Parse(sessionId).ToByteArray();
        await using var connection = new SqliteConnection(Silo.Storage.SchemaScripts.SqliteConnectionString(dbPath));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT PayloadBinary FROM x402_grain_state WHERE GrainIdN0 = $n0 AND GrainIdN1 = $n1 AND GrainIdExtensionString IS NULL";
        command.Parameters.AddWithValue("$n0", BitConverter.ToInt64(bytes, 0));
        command.Parameters.AddWithValue("$n1", BitConverter.ToInt64(bytes, 8));
        if (await command.ExecuteScalarAsync() is not byte[] payload)
        {
            return null;
        }

        using var json = System.Text.Json.JsonDocument.Parse(payload);
        return json.RootElement.GetProperty("status").GetString();
    }

    private static async Task<long> SessionRowsAsync(string dbPath)
    {
        await using var connection = new SqliteConnection(Silo.Storage.SchemaScripts.SqliteConnectionString(dbPath));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM x402_grain_state WHERE GrainTypeString = 'session' AND PayloadBinary IS NOT NULL";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
