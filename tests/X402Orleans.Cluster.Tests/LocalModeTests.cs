using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
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
            var (app, url) = InProcessHost(dbPath, new Dictionary<string, string?>
            {
                ["X402:Sessions:RetentionSeconds"] = "1",
                ["X402:Sessions:ReminderPeriodSeconds"] = "1",
            });
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

    /// <summary>
    /// A session's reminder due beyond twice the reminder service's loading window is written straight to the reminder table,
    /// so the service holds nothing for it in memory; its refresh still loads the row in time: the session expires at its
    /// expiry and is purged after the retention, with no call to it. (The window and the refresh are shortened to 3 s so
    /// the test runs in seconds; the defaults are 10 and 5 minutes.)
    /// </summary>
    [Fact]
    public async Task FarOffLifecycleReminder_IsOnlyInTheTable_AndStillExpiresAndPurgesTheSession()
    {
        var folder = TestEnvironment.TempFolder("x402-far-reminder");
        var dbPath = Path.Combine(folder, "x402.db");
        try
        {
            var (app, url) = InProcessHost(
                dbPath,
                new Dictionary<string, string?>
                {
                    ["X402:Sessions:MinTtlSeconds"] = "5",
                    ["X402:Sessions:RetentionSeconds"] = "6",
                    ["X402:Sessions:ReminderPeriodSeconds"] = "1",
                },
                services => services.Configure<ReminderOptions>(o =>
                {
                    o.ReminderLoadingWindow = TimeSpan.FromSeconds(3);
                    o.RefreshReminderListPeriod = TimeSpan.FromSeconds(3);
                }));
            await using (app)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await app.StartAsync(timeout.Token);
                await using var agent = await McpAgent.ConnectAsync(new Uri(url + "/mcp"), TestEnvironment.AgentKey);
                var started = (await agent.StartAsync(url + "/demo/weather", ttlSeconds: 15)).Ok();
                var id = started["session_id"].GetString()!;
                var expiresAt = DateTimeOffset.Parse(started["expires_at"].GetString()!, CultureInfo.InvariantCulture);

                var row = await ReminderDueAsync(dbPath, id);
                Assert.NotNull(row);
                Assert.InRange(row.Value - expiresAt, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(1));
                Assert.Equal(0, LocalReminders(app.Services));

                // No call from here on: only the reminder, loaded from the table, can expire and then purge the session.
                Assert.Equal("expired", await WaitForStoredStatusAsync(dbPath, id, s => s != "active", TimeSpan.FromSeconds(40)));
                Assert.True(DateTimeOffset.UtcNow >= expiresAt, "expired before its expiry");
                Assert.Null(await WaitForStoredStatusAsync(dbPath, id, s => s is null, TimeSpan.FromSeconds(40)));
                Assert.Equal(0, await SessionRowsAsync(dbPath));
                Assert.Null(await ReminderDueAsync(dbPath, id));
                await app.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A silo with the MCP gateway in this process on <paramref name="dbPath"/> (not started), and its base URL.</summary>
    private static (WebApplication App, string Url) InProcessHost(string dbPath, Dictionary<string, string?> extra, Action<IServiceCollection>? services = null)
    {
        var ports = TestEnvironment.FreePorts(3);
        var url = $"http://127.0.0.1:{ports[0].ToString(CultureInfo.InvariantCulture)}";
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["X402:Storage:Path"] = dbPath,
            ["X402:Cluster:SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["X402:Cluster:GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
            ["X402:Wallet:PrivateKey"] = TestEnvironment.WalletKey,
            ["X402:Agents:0:Id"] = TestEnvironment.AgentId,
            ["X402:Agents:0:ApiKey"] = TestEnvironment.AgentKey,
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return (X402Host.CreateWebApp(["--urls", url], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            services?.Invoke(b.Services);
        }), url);
    }

    /// <summary>How many reminders this host's reminder service tracks in memory (Orleans' orleans-reminders-active gauge).</summary>
    private static int LocalReminders(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        int? total = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "orleans-reminders-active" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => total = (total ?? 0) + value);
        listener.Start();
        listener.RecordObservableInstruments();
        return total ?? throw new InvalidOperationException("the host publishes no orleans-reminders-active gauge");
    }

    private static async Task<string?> WaitForStoredStatusAsync(string dbPath, string sessionId, Func<string?, bool> done, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        string? status;
        while (!done(status = await StoredStatusAsync(dbPath, sessionId)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        return status;
    }

    private static async Task<DateTimeOffset?> ReminderDueAsync(string dbPath, string sessionId)
    {
        await using var connection = new SqliteConnection(Silo.Storage.SchemaScripts.SqliteConnectionString(dbPath));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT StartTime FROM x402_reminders WHERE GrainId LIKE $id";
        command.Parameters.AddWithValue("$id", "%" + Guid.Parse(sessionId).ToString("N"));
        return await command.ExecuteScalarAsync() is string text
            ? new DateTimeOffset(DateTime.SpecifyKind(DateTime.Parse(text, CultureInfo.InvariantCulture), DateTimeKind.Utc))
            : null;
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
