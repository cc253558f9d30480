using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// The production shape on real PostgreSQL: two silo processes and one standalone gateway process, driven through MCP.
/// One silo is killed with kill -9 under load; then everything is stopped and started again. The gateway waits up to 45 s for
/// a grain call's answer (an allowed <c>ResponseTimeoutSeconds</c>): calls in flight at the kill must not wait for it, since
/// the gateway resends them as soon as it sees the silo go.
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    private const int LongSessions = 6;
    private const int ShortSessions = 3;
    private const int ShortTtlSeconds = 20;
    private const int GatewayResponseTimeoutSeconds = 45;

    [SkippableFact]
    public async Task KillMinus9UnderLoad_LosesNothing_ExpiresOnTime_AndAFullRestartRestoresEverything()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: true);
        var folder = TestEnvironment.TempFolder("x402-cluster");
        var gatewayExtra = new Dictionary<string, string>
        {
            ["X402__Cluster__ResponseTimeoutSeconds"] = GatewayResponseTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__X402Orleans.Gateway.Sessions.ClusterChangeSignal"] = "Information",
        };
        await ClusterNodes.RunAsync(db.ConnectionString, folder, output, gatewayExtra: gatewayExtra, test: async cluster =>
        {
            var clock = Stopwatch.StartNew();
            await cluster.StartAllAsync();
            output.WriteLine($"cluster up (2 silos + gateway) in {clock.Elapsed.TotalSeconds:F1}s");
            var gatewayUri = cluster.Gateway!.BaseUri;

            // Sessions: each on its own paywall path, so the paywall's own count per path checks the session's count.
            var served = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            var paths = new Dictionary<string, string>(StringComparer.Ordinal);
            var longIds = new List<string>();
            var shortIds = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            await using (var agent = await McpAgent.ConnectAsync(new Uri(gatewayUri, "/mcp"), TestEnvironment.AgentKey))
            {
                for (var i = 0; i < LongSessions + ShortSessions; i++)
                {
                    var isShort = i >= LongSessions;
                    var path = isShort ? $"demo/items/short-{i}" : $"demo/items/long-{i}";
                    var started = (await agent.StartAsync(gatewayUri + path, isShort ? ShortTtlSeconds : 3600)).Ok();
                    var id = started["session_id"].GetString()!;
                    Assert.Equal("paid", started["payment_note"].GetString());
                    paths[id] = path;
                    served[id] = 1;
                    if (isShort)
                    {
                        shortIds[id] = DateTimeOffset.Parse(started["expires_at"].GetString()!, CultureInfo.InvariantCulture);
                    }
                    else
                    {
                        longIds.Add(id);
                    }
                }
            }

            // Load: up to 8 fetches in flight from 4 MCP clients, a new one every 25 ms, walking the long sessions round robin,
            // so calls stuck on the dead silo hold up no session. A failed tool call is recorded (there should be none).
            var calls = new ConcurrentBag<(string Id, double Start, double End, bool Ok, string Text)>();
            var load = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource();
            var agents = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => McpAgent.ConnectAsync(new Uri(gatewayUri, "/mcp"), TestEnvironment.AgentKey)));
            using var slots = new SemaphoreSlim(8);
            var running = new ConcurrentBag<Task>();
            var dispatcher = Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    await slots.WaitAsync();
                    var id = longIds[n % longIds.Count];
                    var agent = agents[n % agents.Length];
                    running.Add(Task.Run(async () =>
                    {
                        try
                        {
                            var t0 = load.Elapsed.TotalSeconds;
                            var result = await agent.FetchAsync(id, TimeSpan.FromSeconds(60));
                            calls.Add((id, t0, load.Elapsed.TotalSeconds, !result.IsError, result.Text));
                            if (!result.IsError)
                            {
                                served.AddOrUpdate(id, 1, (_, c) => c + 1);
                            }
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }));
                    await Task.Delay(25);
                }
            });

            await Task.Delay(TimeSpan.FromSeconds(3));
            var killedAt = load.Elapsed.TotalSeconds;
            cluster.Silos[0]!.Kill();
            output.WriteLine($"kill -9 silo-1 at t={killedAt:F2}s (under load: {calls.Count} calls so far)");

            // Run until every long session has been served again after the kill, plus 3 s; at most 45 s.
            var recoveredAt = double.NaN;
            while (load.Elapsed.TotalSeconds < killedAt + 45)
            {
                await Task.Delay(100);
                var snapshot = calls.ToArray();
                if (longIds.All(id => snapshot.Any(c => c.Id == id && c.Ok && c.Start > killedAt)))
                {
                    recoveredAt = longIds.Max(id => snapshot.Where(c => c.Id == id && c.Ok && c.Start > killedAt).Min(c => c.End));
                    break;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
            await stop.CancelAsync();
            await dispatcher;
            await Task.WhenAll(running);
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }

            var all = calls.ToArray();
            var errors = all.Where(c => !c.Ok).ToList();
            var maxLatency = all.Max(c => c.End - c.Start);
            var spanning = all.Where(c => c.Start <= killedAt + 0.01 && c.End >= killedAt).ToList();
            output.WriteLine($"failover: {all.Length} fetches, {errors.Count} errors; every session served again {recoveredAt - killedAt:F2}s after the kill; " +
                $"max call latency {maxLatency:F2}s; {spanning.Count} calls were in flight at the kill");
            output.WriteLine($"gateway saw: {string.Join(" | ", cluster.Gateway!.Tail(5000).Split('\n').Where(l => l.Contains("Cluster change", StringComparison.Ordinal) || l.Contains("no answer within", StringComparison.Ordinal)).Take(6))}");
            output.WriteLine($"calls over 1 s: {string.Join(", ", all.Where(c => c.End - c.Start > 1).Select(c => $"{c.Start - killedAt:F2}..{c.End - killedAt:F2}s"))} (after the kill)");
            output.WriteLine($"silo-2 saw: {string.Join(" | ", cluster.Silos[1]!.Tail(400).Split('\n').Where(l => l.Contains("Evicting", StringComparison.Ordinal) || l.Contains("declared dead", StringComparison.OrdinalIgnoreCase)).Take(3))}");
            Assert.False(double.IsNaN(recoveredAt), "not every session was served again within 45 s of the kill");
            Assert.True(errors.Count == 0, "tool errors during failover: " + string.Join(" | ", errors.Select(e => e.Text).Distinct().Take(5)) +
                "; the gateway logged: " + UnexpectedFailures(cluster.Gateway!.Tail(20_000)));
            Assert.True(maxLatency < GatewayResponseTimeoutSeconds, $"a call waited {maxLatency:F1}s: the response timeout ({GatewayResponseTimeoutSeconds}s) rather than a resend when its silo went");

            // No session lost, counts exact (session = agent's successes = what the paywall served), one payment each.
            Dictionary<string, SessionView> views;
            await using (var agent = await McpAgent.ConnectAsync(new Uri(gatewayUri, "/mcp"), TestEnvironment.AgentKey))
            {
                views = await LocalModeTests.ViewsAsync(agent, [.. paths.Keys]);
                var live = await LocalModeTests.LiveAsync(agent);
                Assert.All(longIds, id => Assert.Contains(id, live));
            }

            var stats = await cluster.PaywallStatsAsync();
            foreach (var (id, view) in views)
            {
                Assert.Equal(served[id], view.CallCount);
                Assert.Equal(view.CallCount, stats.Served.Single(s => s.Key.EndsWith(paths[id], StringComparison.Ordinal)).Value);
                Assert.Single(view.Transactions.Split(','));
            }

            Assert.Equal(LongSessions + ShortSessions, stats.Payments);
            output.WriteLine($"counts exact for {views.Count} sessions ({views.Values.Sum(v => v.CallCount)} calls); {stats.Payments} payments for {views.Count} sessions");

            // The short sessions expire on time, seen in PostgreSQL without any call touching them, though silo-1 died.
            var lateness = await WaitForExpiryAsync(db.ConnectionString, shortIds);
            output.WriteLine($"short sessions expired {string.Join(", ", lateness.Select(l => $"{l:F1}s"))} after their expires_at");
            Assert.All(lateness, l => Assert.InRange(l, -0.5, 10));

            // Stop everything; start everything; every session, count, receipt and expiry is back.
            await cluster.StopAllAsync();
            clock.Restart();
            await cluster.StartAllAsync();
            output.WriteLine($"full restart in {clock.Elapsed.TotalSeconds:F1}s");
            await using (var agent = await McpAgent.ConnectAsync(new Uri(cluster.Gateway!.BaseUri, "/mcp"), TestEnvironment.AgentKey))
            {
                var after = await LocalModeTests.ViewsAsync(agent, [.. paths.Keys]);
                foreach (var (id, view) in views)
                {
                    var restored = after[id];
                    if (shortIds.ContainsKey(id))
                    {
                        Assert.Equal("expired", restored.Status);
                        Assert.Equal(view with { Status = "expired", EndedAt = restored.EndedAt }, restored);
                        Assert.Equal(view.ExpiresAt, restored.EndedAt);
                    }
                    else
                    {
                        Assert.Equal(view, restored);
                    }
                }

                Assert.Equal(longIds.Order(StringComparer.Ordinal), await LocalModeTests.LiveAsync(agent));
            }
        });
    }

    /// <summary>The first lines of the first few "failed unexpectedly" entries in a gateway log (the exception behind a generic tool error).</summary>
    private static string UnexpectedFailures(string log)
    {
        var lines = log.Split('\n');
        return string.Join(" || ", lines
            .Select((line, i) => (line, i))
            .Where(l => l.line.Contains("failed unexpectedly", StringComparison.Ordinal))
            .Take(3)
            .Select(l => string.Join(" / ", lines.Skip(l.i).Take(4).Select(x => x.Trim()))));
    }

    /// <summary>Polls each session's stored JSON until it says expired; returns how late (s) after expires_at each was seen.</summary>
    private static async Task<List<double>> WaitForExpiryAsync(string connectionString, Dictionary<string, DateTimeOffset> sessions)
    {
        var seen = new Dictionary<string, double>(StringComparer.Ordinal);
        var deadline = sessions.Values.Max() + TimeSpan.FromSeconds(30);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        while (seen.Count < sessions.Count && DateTimeOffset.UtcNow < deadline)
        {
            foreach (var (id, expiresAt) in sessions.Where(s => !seen.ContainsKey(s.Key)))
            {
                var bytes = Guid.Parse(id).ToByteArray();
                await using var command = new NpgsqlCommand("SELECT payloadbinary FROM x402_grain_state WHERE grainidn0 = @n0 AND grainidn1 = @n1 AND grainidextensionstring IS NULL", connection);
                command.Parameters.AddWithValue("n0", BitConverter.ToInt64(bytes, 0));
                command.Parameters.AddWithValue("n1", BitConverter.ToInt64(bytes, 8));
                if (await command.ExecuteScalarAsync() is byte[] payload)
                {
                    using var json = JsonDocument.Parse(payload);
                    if (json.RootElement.GetProperty("status").GetString() is "expired" or "failed")
                    {
                        seen[id] = (DateTimeOffset.UtcNow - expiresAt).TotalSeconds;
                    }
                }
            }

            await Task.Delay(250);
        }

        Assert.True(seen.Count == sessions.Count, $"only {seen.Count} of {sessions.Count} short sessions expired within 30 s of their expiry");
        return [.. seen.Values];
    }
}
