using System.Globalization;
using System.Text.Json;

namespace X402Orleans.Gateway.Tests;

/// <summary>Sessions against the built-in demo paywall, counted on both sides: the gateway's results and the paywall's own stats.</summary>
[Collection(GatewayCollection.Name)]
public sealed class SessionFlowTests(GatewayFixture fixture)
{
    private const string BaseSepolia = "eip155:84532";
    private GatewayHost Host => fixture.Host;

    [Fact]
    public async Task SessionStart_PaysOnceThenReusesAccessBySignInWithX_OnDemoWeather()
    {
        const int fetches = 5;
        var agent = fixture.AgentA;
        var before = await Host.GetStatsAsync();

        // Start: one payment, then access is reused by sign-in-with-x.
        var start = (await agent.StartAsync(Host.Url("/demo/weather"), new() { ["label"] = "weather flow" })).Ok();
        var sessionId = start.Structured.Str("session_id");
        Assert.True(Guid.TryParseExact(sessionId, "D", out _));
        Assert.Equal(Host.Url("/demo/weather"), start.Structured.Str("endpoint"));
        Assert.Equal("prefix", start.Structured.Str("scope"));
        Assert.Equal("weather flow", start.Structured.Str("label"));
        Assert.Equal("sign-in-with-x", start.Structured.Str("reuse"));
        Assert.True(start["sign_in_with_x_offered"].GetBoolean());
        Assert.Equal("paid", start.Structured.Str("payment_note"));
        var payment = start["payment"];
        Assert.Equal("0.001", payment.Str("amount"));
        Assert.Equal("1000", payment.Str("amount_atomic"));
        Assert.Equal("USDC", payment.Str("symbol"));
        Assert.Equal(BaseSepolia, payment.Str("network"));
        Assert.True(payment.GetProperty("simulated").GetBoolean());
        Assert.Equal(GatewayHost.WalletAddress, payment.Str("payer"), ignoreCase: true);
        Assert.StartsWith("0x", payment.Str("transaction"), StringComparison.Ordinal);
        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        Assert.Contains("Lisbon", start["response"].Str("body"), StringComparison.Ordinal);
        Assert.Contains("0.001 USDC", start.Text, StringComparison.Ordinal);
        Assert.Contains(sessionId, start.Text, StringComparison.Ordinal);

        // Fetches: all served by sign-in-with-x, none paid.
        for (var i = 1; i <= fetches; i++)
        {
            var fetch = (await agent.FetchAsync(sessionId)).Ok();
            Assert.Equal(200, fetch["status"].GetInt32());
            Assert.Equal("sign-in-with-x", fetch.Structured.Str("access"));
            Assert.Equal(JsonValueKind.Null, fetch["payment"].ValueKind);
            Assert.Equal(i + 1, fetch.Structured.Num("call_count"));
            Assert.Equal(Host.Url("/demo/weather"), fetch.Structured.Str("url"));
            Assert.Contains("sunny", fetch.Structured.Str("body"), StringComparison.Ordinal);
            Assert.Contains("HTTP 200", fetch.Text, StringComparison.Ordinal);
        }

        // The paywall counted the same: N+1 responses served, one payment, N sign-ins.
        var after = await Host.GetStatsAsync();
        Assert.Equal(fetches + 1, after.ServedOn("/demo/weather") - before.ServedOn("/demo/weather"));
        Assert.Equal(1, after.Payments - before.Payments);
        Assert.Equal(fetches, after.SignIns - before.SignIns);

        // Status: active, call count and total paid.
        var status = (await agent.StatusAsync(sessionId)).Ok().Single();
        Assert.Equal(sessionId, status.Str("session_id"));
        Assert.Equal("active", status.Str("status"));
        Assert.Equal(fetches + 1, status.Num("call_count"));
        Assert.Equal("sign-in-with-x", status.Str("reuse"));
        var total = Assert.Single(status.GetProperty("total_paid").EnumerateArray());
        Assert.Equal("0.001", total.Str("amount"));
        Assert.Equal("USDC", total.Str("symbol"));
        Assert.Equal(BaseSepolia, total.Str("network"));
        Assert.Single(status.GetProperty("payments").EnumerateArray());
        Assert.Contains(sessionId, (await agent.StatusAsync()).Ok().SessionIds());

        // End: reports what was used and paid.
        var end = (await agent.EndAsync(sessionId)).Ok();
        Assert.Equal("ended", end.Structured.Str("outcome"));
        Assert.Equal(fetches + 1, end.Structured.Num("call_count"));
        Assert.Equal("0.001", Assert.Single(end["total_paid"].EnumerateArray()).Str("amount"));
        Assert.Contains("ended", end.Text, StringComparison.Ordinal);
        Assert.Contains("0.001 USDC", end.Text, StringComparison.Ordinal);

        // After the end: no more calls, not listed, nothing more served or paid.
        var refused = (await agent.FetchAsync(sessionId)).Error();
        Assert.Contains("was ended", refused, StringComparison.Ordinal);
        Assert.DoesNotContain(sessionId, (await agent.StatusAsync()).Ok().SessionIds());
        var ended = (await agent.StatusAsync(sessionId)).Ok().Single();
        Assert.Equal("ended", ended.Str("status"));
        Assert.Equal(JsonValueKind.String, ended.GetProperty("ended_at").ValueKind);
        var final = await Host.GetStatsAsync();
        Assert.Equal(after.ServedOn("/demo/weather"), final.ServedOn("/demo/weather"));
        Assert.Equal(after.Payments, final.Payments);
    }

    [Fact]
    public async Task SessionStatus_ListsEachLiveSessionOnceOldestFirst_WhenPagedWithCursor()
    {
        var agent = fixture.AgentA;
        var started = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            started.Add((await agent.StartAsync(Host.Url("/demo/free"), new() { ["label"] = "paged " + i.ToString(CultureInfo.InvariantCulture) })).Ok().Structured.Str("session_id"));
        }

        (await agent.EndAsync(started[2])).Ok();

        var listed = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var arguments = new Dictionary<string, object?> { ["limit"] = 2 };
            if (cursor is not null)
            {
                arguments["cursor"] = cursor;
            }

            var page = (await agent.CallAsync(McpCalls.Status, arguments)).Ok();
            Assert.InRange(page.SessionIds().Count, 0, 2);
            listed.AddRange(page.SessionIds());
            cursor = page["next_cursor"].ValueKind == JsonValueKind.Null ? null : page["next_cursor"].GetString();
            Assert.True(++pages < 500, "paging did not end");
        }
        while (cursor is not null);

        Assert.Equal(listed.Distinct().Count(), listed.Count);
        Assert.Equal([started[0], started[1], started[3], started[4]], listed.Where(started.Contains));
        Assert.Equal((await agent.StatusAsync()).Ok().SessionIds().Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        foreach (var id in started.Where(id => id != started[2]))
        {
            (await agent.EndAsync(id)).Ok();
        }
    }

    [Fact]
    public async Task SessionFetch_PaysAgainOnEveryCall_OnPayPerCallQuote()
    {
        const int fetches = 3;
        var agent = fixture.AgentA;
        var before = await Host.GetStatsAsync();

        var start = (await agent.StartAsync(Host.Url("/demo/quote"))).Ok();
        var sessionId = start.Structured.Str("session_id");
        Assert.Equal("pay-per-call", start.Structured.Str("reuse"));
        Assert.False(start["sign_in_with_x_offered"].GetBoolean());
        Assert.Equal("0.002", start["payment"].Str("amount"));
        var transactions = new HashSet<string>(StringComparer.Ordinal) { start["payment"].Str("transaction") };

        for (var i = 1; i <= fetches; i++)
        {
            var fetch = (await agent.FetchAsync(sessionId)).Ok();
            Assert.Equal(200, fetch["status"].GetInt32());
            Assert.Equal("paid", fetch.Structured.Str("access"));
            Assert.Equal("0.002", fetch["payment"].Str("amount"));
            Assert.Equal("USDC", fetch["payment"].Str("symbol"));
            Assert.True(transactions.Add(fetch["payment"].Str("transaction")), "each payment is a new authorization");
            Assert.Equal(i + 1, fetch.Structured.Num("call_count"));
            Assert.Contains("paid 0.002 USDC", fetch.Text, StringComparison.Ordinal);
        }

        var after = await Host.GetStatsAsync();
        Assert.Equal(fetches + 1, after.Payments - before.Payments);
        Assert.Equal(fetches + 1, after.ServedOn("/demo/quote") - before.ServedOn("/demo/quote"));
        var status = (await agent.StatusAsync(sessionId)).Ok().Single();
        Assert.Equal("0.008", Assert.Single(status.GetProperty("total_paid").EnumerateArray()).Str("amount"));
        Assert.Equal(fetches + 1, status.GetProperty("payments").GetArrayLength());
        Assert.Equal("0.008", Assert.Single((await agent.EndAsync(sessionId)).Ok()["total_paid"].EnumerateArray()).Str("amount"));
    }

    [Fact]
    public async Task SessionFetch_IsRefusedWithoutPaying_WhenRepeatPaymentsAreNotAllowed()
    {
        var agent = fixture.AgentA;
        var before = await Host.GetStatsAsync();
        var start = (await agent.StartAsync(Host.Url("/demo/quote"), new() { ["allow_repeat_payments"] = false })).Ok();
        var sessionId = start.Structured.Str("session_id");
        Assert.Equal("0.002", start["payment"].Str("amount"));

        var error = (await agent.FetchAsync(sessionId)).Error();

        Assert.Contains("does not allow repeat payments", error, StringComparison.Ordinal);
        var after = await Host.GetStatsAsync();
        Assert.Equal(1, after.Payments - before.Payments);
        Assert.Equal(1, after.ServedOn("/demo/quote") - before.ServedOn("/demo/quote"));
        var status = (await agent.StatusAsync(sessionId)).Ok().Single();
        Assert.Equal("active", status.Str("status"));
        Assert.Equal(1, status.Num("call_count"));
        (await agent.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task SessionStart_ReportsNoPaymentRequired_OnFreeEndpoint()
    {
        var agent = fixture.AgentA;
        var before = await Host.GetStatsAsync();

        var start = (await agent.StartAsync(Host.Url("/demo/free"))).Ok();
        var sessionId = start.Structured.Str("session_id");

        Assert.Equal("no payment required", start.Structured.Str("payment_note"));
        Assert.Equal("free", start.Structured.Str("reuse"));
        Assert.Equal(JsonValueKind.Null, start["payment"].ValueKind);
        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        Assert.Contains("no payment needed", start["response"].Str("body"), StringComparison.Ordinal);
        Assert.Contains("no payment required", start.Text, StringComparison.Ordinal);
        var fetch = (await agent.FetchAsync(sessionId)).Ok();
        Assert.Equal("free", fetch.Structured.Str("access"));
        Assert.Equal(JsonValueKind.Null, fetch["payment"].ValueKind);
        Assert.Equal(2, fetch.Structured.Num("call_count"));
        var status = (await agent.StatusAsync(sessionId)).Ok().Single();
        Assert.Empty(status.GetProperty("total_paid").EnumerateArray());
        Assert.Equal(before.Payments, (await Host.GetStatsAsync()).Payments);
        (await agent.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task SessionFetch_PaysOncePerPathThenSignsIn_OnPrefixSessionOverItems()
    {
        var agent = fixture.AgentA;
        var first = Host.Url($"/demo/items/{Guid.NewGuid():N}");
        var second = Host.Url($"/demo/items/{Guid.NewGuid():N}");
        var before = await Host.GetStatsAsync();
        var start = (await agent.StartAsync(first)).Ok();
        var sessionId = start.Structured.Str("session_id");
        Assert.Equal("0.001", start["payment"].Str("amount"));

        var again = (await agent.FetchAsync(sessionId)).Ok();
        Assert.Equal("sign-in-with-x", again.Structured.Str("access"));

        // A new path outside the session's prefix is refused; a new session on it pays for that path.
        Assert.Contains("outside the session's scope", (await agent.FetchAsync(sessionId, second)).Error(), StringComparison.Ordinal);
        var other = (await agent.StartAsync(second)).Ok();
        Assert.Equal("0.001", other["payment"].Str("amount"));

        var after = await Host.GetStatsAsync();
        Assert.Equal(2, after.Payments - before.Payments);
        (await agent.EndAsync(sessionId)).Ok();
        (await agent.EndAsync(other.Structured.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task SessionFetch_ReportsFreeAccess_WhenAPathOfASignedInSessionNeedsNoPayment()
    {
        var agent = fixture.AgentA;
        var start = (await agent.StartAsync(Host.Url("/demo/"), new() { ["scope"] = "prefix" })).Ok();
        var sessionId = start.Structured.Str("session_id");

        // An item needs a payment, then a proof of it; once the session holds that proof, /demo/free still needs none.
        var item = Host.Url($"/demo/items/{Guid.NewGuid():N}");
        Assert.Equal("paid", (await agent.FetchAsync(sessionId, item)).Ok().Structured.Str("access"));
        Assert.Equal("sign-in-with-x", (await agent.FetchAsync(sessionId, item)).Ok().Structured.Str("access"));

        var free = (await agent.FetchAsync(sessionId, Host.Url("/demo/free"))).Ok();

        Assert.Equal("free", free.Structured.Str("access"));
        (await agent.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task SessionStart_ReturnsSameSessionAndPaysOnce_WhenIdempotencyKeyRepeats()
    {
        var agent = fixture.AgentA;
        var key = $"key-{Guid.NewGuid():N}";
        var before = await Host.GetStatsAsync();

        var first = (await agent.StartAsync(Host.Url("/demo/quote"), new() { ["idempotency_key"] = key })).Ok();
        var second = (await agent.StartAsync(Host.Url("/demo/quote"), new() { ["idempotency_key"] = key })).Ok();

        Assert.Equal(first.Structured.Str("session_id"), second.Structured.Str("session_id"));
        Assert.False(first["idempotent_replay"].GetBoolean());
        Assert.True(second["idempotent_replay"].GetBoolean());
        Assert.Equal("0.002", second["payment"].Str("amount"));
        Assert.Equal(1, (await Host.GetStatsAsync()).Payments - before.Payments);
        var conflict = (await agent.StartAsync(Host.Url("/demo/free"), new() { ["idempotency_key"] = key })).Error();
        Assert.Contains("idempotency_key was already used with different arguments", conflict, StringComparison.Ordinal);
        (await agent.EndAsync(first.Structured.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task SessionStart_FailsWithoutPaying_WhenPriceExceedsMaxPayment()
    {
        var agent = fixture.AgentA;
        var label = $"too cheap {Guid.NewGuid():N}";
        var before = await Host.GetStatsAsync();

        var error = (await agent.StartAsync(Host.Url("/demo/quote"), new() { ["max_payment"] = "0.0001", ["label"] = label })).Error();

        Assert.Contains("exceeds max_payment", error, StringComparison.Ordinal);
        Assert.Contains("0.002", error, StringComparison.Ordinal);
        var after = await Host.GetStatsAsync();
        Assert.Equal(before.Payments, after.Payments);
        Assert.Equal(before.ServedOn("/demo/quote"), after.ServedOn("/demo/quote"));
        var sessions = (await agent.StatusAsync()).Ok()["sessions"].EnumerateArray();
        Assert.DoesNotContain(sessions, s => s.GetProperty("label").GetString() == label);
    }

    [Fact]
    public async Task SessionFetch_IsRefusedAndNotCounted_WhenUrlIsOutsidePrefixScope()
    {
        var agent = fixture.AgentA;
        var sessionId = (await agent.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");

        var error = (await agent.FetchAsync(sessionId, Host.Url("/demo/quote"))).Error();

        Assert.Contains("outside the session's scope", error, StringComparison.Ordinal);
        Assert.Equal(1, (await agent.StatusAsync(sessionId)).Ok().Single().Num("call_count"));
        var inside = (await agent.FetchAsync(sessionId, Host.Url("/demo/free?city=Porto"))).Ok();
        Assert.Equal(2, inside.Structured.Num("call_count"));
        (await agent.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task SessionFetch_IsRefused_WhenExactScopeIsAskedForSubPath()
    {
        var agent = fixture.AgentA;
        var start = (await agent.StartAsync(Host.Url("/demo/free"), new() { ["scope"] = "exact" })).Ok();
        var sessionId = start.Structured.Str("session_id");
        Assert.Equal("exact", start.Structured.Str("scope"));

        var error = (await agent.FetchAsync(sessionId, Host.Url("/demo/free/more"))).Error();

        Assert.Contains("outside the session's scope", error, StringComparison.Ordinal);
        Assert.Equal(1, (await agent.StatusAsync(sessionId)).Ok().Single().Num("call_count"));
        Assert.Equal(2, (await agent.FetchAsync(sessionId, Host.Url("/demo/free"))).Ok().Structured.Num("call_count"));
        (await agent.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task SessionEnd_IsInformational_WhenSessionAlreadyEnded()
    {
        var agent = fixture.AgentA;
        var sessionId = (await agent.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");
        Assert.Equal("ended", (await agent.EndAsync(sessionId)).Ok().Structured.Str("outcome"));

        var again = (await agent.EndAsync(sessionId)).Ok();

        Assert.Equal("already ended", again.Structured.Str("outcome"));
        Assert.Equal(sessionId, again.Structured.Str("session_id"));
        Assert.Equal(1, again.Structured.Num("call_count"));
        Assert.Contains("already ended", again.Text, StringComparison.Ordinal);
    }
}
