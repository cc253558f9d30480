using System.Globalization;

namespace X402Orleans.Gateway.Tests;

/// <summary>Session spend limits and the wallet tools, as an agent sees them.</summary>
[Collection(GatewayCollection.Name)]
public sealed class WalletToolsTests(GatewayFixture fixture)
{
    private GatewayHost Host => fixture.Host;

    [Fact]
    public async Task SessionFetch_IsRefusedWithoutPaying_WhenMaxTotalWouldBeExceeded()
    {
        var agent = fixture.AgentA;
        var before = await Host.GetStatsAsync();
        var sessionId = (await agent.StartAsync(Host.Url("/demo/quote"), new() { ["max_total"] = "0.004" })).Ok().Structured.Str("session_id");
        Assert.Equal("paid", (await agent.FetchAsync(sessionId)).Ok().Structured.Str("access"));

        var error = (await agent.FetchAsync(sessionId)).Error();

        Assert.Contains("would exceed the session's max_total 0.004 USDC", error, StringComparison.Ordinal);
        Assert.Equal(2, (await Host.GetStatsAsync()).Payments - before.Payments);
        var status = (await agent.StatusAsync(sessionId)).Ok().Single();
        Assert.Equal(2, status.Num("call_count"));
        Assert.Equal("0.004", Assert.Single(status.GetProperty("total_paid").EnumerateArray()).Str("amount"));
        (await agent.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task PaymentLog_ListsSettledAndRefusedAttemptsNewestFirst_ForOwnAgentOnly()
    {
        var b = fixture.AgentB;
        var paid = (await b.StartAsync(Host.Url("/demo/quote"))).Ok();
        var sessionId = paid.Structured.Str("session_id");
        (await b.StartAsync(Host.Url("/demo/quote"), new() { ["max_payment"] = "0.0001" })).Error();

        var log = (await b.CallAsync(McpCalls.PaymentLog, new() { ["limit"] = 2 })).Ok();

        var attempts = log["attempts"].EnumerateArray().ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.Equal("not_selected", attempts[0].Str("outcome"));
        Assert.Contains("max_payment", attempts[0].Str("reason"), StringComparison.Ordinal);
        Assert.Equal("settled", attempts[1].Str("outcome"));
        Assert.Equal(sessionId, attempts[1].Str("session_id"));
        Assert.Equal("2000", attempts[1].Str("amount_atomic"));
        Assert.Equal(paid["payment"].Str("transaction"), attempts[1].Str("transaction"));
        Assert.Equal(Host.Url("/demo/quote"), attempts[1].Str("url"));
        var ofA = (await fixture.AgentA.CallAsync(McpCalls.PaymentLog, new() { ["limit"] = 1000 })).Ok()["attempts"].EnumerateArray();
        Assert.DoesNotContain(ofA, a => a.Str("session_id") == sessionId);
        (await b.EndAsync(sessionId)).Ok();
    }

    [Fact]
    public async Task PaymentLog_ExplainsRange_WhenLimitIsOutOfRange()
    {
        var error = (await fixture.AgentA.CallAsync(McpCalls.PaymentLog, new() { ["limit"] = 0 })).Error();

        Assert.Contains("limit must be between 1 and 1000", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WalletStatus_ShowsWalletAddressAndTodaysSpend_AfterAPayment()
    {
        var b = fixture.AgentB;
        var before = (await b.CallAsync(McpCalls.WalletStatus, [])).Ok();
        var sessionId = (await b.StartAsync(Host.Url("/demo/quote"))).Ok().Structured.Str("session_id");

        var after = (await b.CallAsync(McpCalls.WalletStatus, [])).Ok();

        Assert.Equal(GatewayHost.WalletAddress, after.Structured.Str("address"), ignoreCase: true);
        if (before.Structured.Str("day") == after.Structured.Str("day"))
        {
            Assert.Equal(0.002m, SpentOnBaseSepolia(after) - SpentOnBaseSepolia(before));
        }

        (await b.EndAsync(sessionId)).Ok();
    }

    private static decimal SpentOnBaseSepolia(ToolOutcome status)
    {
        var usdc = Assert.Single(status["assets"].EnumerateArray(), a => a.Str("network") == "eip155:84532" && a.Str("symbol") == "USDC");
        return decimal.Parse(usdc.Str("spent_today"), NumberStyles.Number, CultureInfo.InvariantCulture);
    }
}
