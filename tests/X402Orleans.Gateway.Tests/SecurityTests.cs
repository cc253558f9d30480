using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// Hostile tool arguments from <c>hostile-corpus.json</c> (≥ 200 cases): each must be a clear refusal (an isError result or an MCP
/// invalid-params error with a message) — except the few marked <c>"accept": true</c>, which must bind and succeed — make no payment, crash nothing, and leave another live session working and exactly counted.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostileCorpusTests(GatewayFixture fixture)
{
    [Fact]
    public async Task HostileArguments_AreRefusedWithoutPaymentOrDamage_ForEveryCorpusCase()
    {
        var host = fixture.Host;
        var client = fixture.AgentA;
        var live = (await client.StartAsync(host.Url("/demo/weather"))).Ok();
        var sessionId = live["session_id"].GetString()!;
        var before = await host.GetStatsAsync();

        using var corpus = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "hostile-corpus.json")));
        var cases = corpus.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 200, $"the corpus has only {cases.Count} cases");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var name = c.GetProperty("name").GetString()!;
            var expect = c.GetProperty("expect").GetString()!;
            var arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>(Substitute(c.GetProperty("arguments").GetRawText(), host, sessionId))!;
            if (c.TryGetProperty("accept", out var accept) && accept.GetBoolean())
            {
                // Arguments that must bind (e.g. an amount as a JSON number): the call succeeds; a started session is ended again.
                var outcome = await client.CallAsync(c.GetProperty("tool").GetString()!, arguments);
                if (outcome.IsError)
                {
                    failures.Add($"{name}: refused ({Clip(outcome.Text)})");
                }
                else if (outcome.Structured.TryGetProperty("session_id", out var started))
                {
                    (await client.EndAsync(started.GetString()!)).Ok();
                }

                continue;
            }

            var (refused, message) = await TryCallAsync(client, c.GetProperty("tool").GetString()!, arguments);
            if (!refused)
            {
                failures.Add($"{name}: not refused ({Clip(message)})");
            }
            else if (string.IsNullOrWhiteSpace(message) || !message.Contains(expect, StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"{name}: message '{Clip(message)}' lacks '{expect}'");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        var after = await host.GetStatsAsync();
        Assert.Equal(before.Payments, after.Payments);
        var fetched = (await client.FetchAsync(sessionId)).Ok();
        Assert.Equal("sign-in-with-x", fetched["access"].GetString());
        Assert.Equal(2, fetched["call_count"].GetInt64());
        await client.EndAsync(sessionId);
    }

    internal static async Task<(bool Refused, string Message)> TryCallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        try
        {
            var outcome = await client.CallAsync(tool, arguments);
            return (outcome.IsError, outcome.Text);
        }
        catch (McpException ex)
        {
            // Protocol-level refusals (e.g. an unknown tool) arrive as MCP errors; argument binding failures are isError results.
            return (true, ex.Message);
        }
    }

    private static string Substitute(string json, GatewayHost host, string sessionId) => json
        .Replace("$DEMO", host.BaseUri.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal)
        .Replace("$HOSTPORT", $"127.0.0.1:{host.Port.ToString(CultureInfo.InvariantCulture)}", StringComparison.Ordinal)
        .Replace("$PORT", host.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("$SESSION", sessionId, StringComparison.Ordinal);

    private static string Clip(string text) => text.Length <= 160 ? text : text[..160] + "…";
}

/// <summary>A server answering malformed or hostile 402s: every case is a clear isError, nothing is paid, nothing crashes.</summary>
public sealed class HostileServerTests : IAsyncLifetime
{
    private GatewayHost? _host;
    private HostileServer? _server;
    private McpClient? _client;

    private McpClient Client => _client ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _server = await HostileServer.StartAsync();
        _host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["X402:Http:AllowPrivateTargets"] = "true" });
        _client = await _host.ConnectAsync(GatewayHost.AgentAKey);
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await Client.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task HostileServer_CasesAreIsErrorWithReason_AndNothingIsPaid()
    {
        var failures = new List<string>();
        foreach (var (path, expect) in HostileServer.Cases)
        {
            var arguments = new Dictionary<string, object?> { ["endpoint"] = _server!.Url(path), ["timeout_ms"] = path == "/slow" ? 1000 : 10000 };
            var (refused, message) = await HostileCorpusTests.TryCallAsync(Client, McpCalls.Start, arguments);
            if (!refused || !message.Contains(expect, StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"{path}: refused={refused}, message '{message}' (expected '{expect}')");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // Only /refuses-payment ever got a signed payment, and the server refused it: nothing is recorded as paid.
        Assert.Equal(1, _server!.PaymentHeaders);
        var wallet = (await Client.CallAsync("x402_wallet_status", [])).Ok();
        Assert.All(wallet["assets"].EnumerateArray(), a => Assert.True(a.GetProperty("spent_today").GetString() == "0", a.GetRawText()));
        var status = (await Client.StatusAsync()).Ok();
        Assert.Empty(status.SessionIds());
        var log = (await Client.CallAsync("x402_payment_log", [])).Ok();
        Assert.Contains(log["attempts"].EnumerateArray(), a => a.GetProperty("outcome").GetString() == "refused");
        Assert.DoesNotContain(log["attempts"].EnumerateArray(), a => a.GetProperty("outcome").GetString() == "settled");

        // The gateway still works for a sound server.
        var ok = (await Client.StartAsync(_host!.Url("/demo/weather"))).Ok();
        Assert.Equal("paid", ok["payment_note"].GetString());
    }

    [Fact]
    public async Task EndlessBody_IsTruncatedWhileStreaming_NotBuffered()
    {
        var started = (await Client.StartAsync(_server!.Url("/endless-200"))).Ok();
        var response = started["response"];
        Assert.True(response.GetProperty("truncated").GetBoolean());
        Assert.Equal(8000, response.GetProperty("body").GetString()!.Length);
        await Client.EndAsync(started["session_id"].GetString()!);
    }
}

/// <summary>A host with agent caps of 0.05 and a wallet cap of 0.08 a day, for <see cref="BudgetTests"/>.</summary>
public sealed class BudgetFixture : GatewayFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["X402:Agents:0:DailyLimit"] = "0.05",
        ["X402:Agents:1:DailyLimit"] = "0.05",
        ["X402:Payments:WalletDailyLimit"] = "0.08",
    };
}

/// <summary>Budgets hold under concurrency; idempotency keys pay once.</summary>
public sealed class BudgetTests(BudgetFixture fixture) : IClassFixture<BudgetFixture>
{
    [Fact]
    public async Task ConcurrentStarts_NeverCommitMoreThanAgentOrWalletCaps_Over1000Starts()
    {
        // 1000 starts, 500 per agent, 250 in flight at any time (the grain-level test races all 1000 at once), each paying
        // 0.001 USDC: agent caps 0.05 (50 payments each), wallet cap 0.08 (80 in all).
        var outcomes = new ConcurrentBag<(string Agent, bool Ok, string Text)>();
        using var inFlight = new SemaphoreSlim(250);
        var calls = Enumerable.Range(0, 1000).Select(async i =>
        {
            var (agent, client) = i % 2 == 0 ? ("a", fixture.AgentA) : ("b", fixture.AgentB);
            await inFlight.WaitAsync();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                var result = await client.CallToolAsync(McpCalls.Start, new Dictionary<string, object?>
                {
                    ["endpoint"] = fixture.Host.Url($"/demo/items/{i}"),
                    ["timeout_ms"] = 60000,
                }, cancellationToken: timeout.Token);
                var text = string.Join("\n", result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(t => t.Text));
                outcomes.Add((agent, result.IsError != true, text));
            }
            finally
            {
                inFlight.Release();
            }
        });
        await Task.WhenAll(calls);

        var stats = await fixture.Host.GetStatsAsync();
        var succeeded = outcomes.Count(o => o.Ok);
        Assert.True(stats.Payments <= 80, $"the paywall was paid {stats.Payments} times; the wallet cap allows 80");
        Assert.True(outcomes.Count(o => o.Ok && o.Agent == "a") <= 50);
        Assert.True(outcomes.Count(o => o.Ok && o.Agent == "b") <= 50);
        Assert.Equal(stats.Payments, succeeded);
        var otherFailures = outcomes.Where(o => !o.Ok && !o.Text.Contains("daily limit", StringComparison.Ordinal)).Select(o => o.Text).Distinct().ToList();
        Assert.True(otherFailures.Count == 0, "refused for another reason than a daily limit:\n" + string.Join("\n", otherFailures));

        var walletA = (await fixture.AgentA.CallAsync("x402_wallet_status", [])).Ok();
        var sepolia = walletA["assets"].EnumerateArray().Single(a => a.GetProperty("network").GetString() == "eip155:84532");
        var walletSpent = decimal.Parse(sepolia.GetProperty("wallet_spent_today").GetString()!, CultureInfo.InvariantCulture);
        Assert.True(walletSpent <= 0.08m);
        Assert.Equal(stats.Payments * 0.001m, walletSpent);
    }
}

/// <summary>Idempotency keys: the same agent and key return the same session and pay once.</summary>
[Collection(GatewayCollection.Name)]
public sealed class IdempotencyTests(GatewayFixture fixture)
{
    [Fact]
    public async Task IdempotencyKey_ReturnsSameSessionAndPaysOnce_WhenRepeated()
    {
        var before = await fixture.Host.GetStatsAsync();
        // A path this wallet has never paid for, so the first start must pay.
        var endpoint = fixture.Host.Url($"/demo/items/idem-{Guid.NewGuid():N}");
        var args = new Dictionary<string, object?> { ["idempotency_key"] = "order-42", ["label"] = "once" };
        var first = (await fixture.AgentA.StartAsync(endpoint, args)).Ok();
        Assert.Equal("paid", first["payment_note"].GetString());
        var again = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => fixture.AgentA.StartAsync(endpoint, args)));
        Assert.All(again, o => Assert.Equal(first["session_id"].GetString(), o.Ok()["session_id"].GetString()));
        Assert.All(again, o => Assert.True(o["idempotent_replay"].GetBoolean()));
        var after = await fixture.Host.GetStatsAsync();
        Assert.Equal(before.Payments + 1, after.Payments);

        var different = await fixture.AgentA.StartAsync(endpoint, new Dictionary<string, object?> { ["idempotency_key"] = "order-42", ["label"] = "other" });
        Assert.Contains("different arguments", different.Error(), StringComparison.Ordinal);

        // Keys are per agent: agent B's "order-42" is its own.
        var other = (await fixture.AgentB.StartAsync(endpoint, args)).Ok();
        Assert.NotEqual(first["session_id"].GetString(), other["session_id"].GetString());
    }
}
