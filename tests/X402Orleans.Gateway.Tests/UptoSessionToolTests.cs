using System.Globalization;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// <c>upto</c> through the MCP tools and the demo paywall's <c>/demo/metered</c> (maximum 0.005, charges 0.002; <c>?charge=0</c>
/// charges 0): the agent sees what was charged beside the maximum, and its daily spend grows by the charge, not the maximum.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class UptoSessionToolTests(GatewayFixture fixture)
{
    private GatewayHost Host => fixture.Host;

    [Fact]
    public async Task SessionStart_ReportsTheChargedAmountBesideTheMaximum_AndTheAgentsSpendGrowsByTheCharge()
    {
        var agent = fixture.AgentA;
        var before = await agent.CallAsync(McpCalls.WalletStatus, []);
        var stats = await Host.GetStatsAsync();

        var started = (await agent.StartAsync(Host.Url("/demo/metered"), new() { ["max_payment"] = "0.01" })).Ok();
        var after = (await agent.CallAsync(McpCalls.WalletStatus, [])).Ok();
        var logged = (await agent.CallAsync(McpCalls.PaymentLog, new() { ["limit"] = 1 })).Ok()["attempts"].EnumerateArray().Single();

        var payment = started["payment"];
        Assert.Equal("paid", started.Structured.Str("payment_note"));
        Assert.Equal(("upto", "0.002", "2000", "0.005", "5000"), (payment.Str("scheme"), payment.Str("amount"), payment.Str("amount_atomic"), payment.Str("maximum"), payment.Str("maximum_atomic")));
        Assert.Equal(1, (await Host.GetStatsAsync()).ServedOn("/demo/metered") - stats.ServedOn("/demo/metered"));
        if (before.Ok().Structured.Str("day") == after.Structured.Str("day"))
        {
            Assert.Equal(0.002m, Spent(after, "spent_today") - Spent(before, "spent_today"));
            Assert.Equal(Spent(before, "reserved_today"), Spent(after, "reserved_today"));
            Assert.Equal(0.002m, Spent(after, "wallet_spent_today") - Spent(before, "wallet_spent_today"));
        }

        Assert.Equal(("settled", "2000", "5000"), (logged.Str("outcome"), logged.Str("amount_atomic"), logged.Str("maximum_atomic")));
        var status = (await agent.StatusAsync(started.Structured.Str("session_id"))).Ok().Single();
        Assert.Equal("0.002", Assert.Single(status.GetProperty("total_paid").EnumerateArray()).Str("amount"));
        (await agent.EndAsync(started.Structured.Str("session_id"))).Ok();
    }

    [Fact]
    public async Task SessionFetch_ReportsACharge0_AndKeepsTheMaximumReservedUntilThePermitsDeadline()
    {
        var agent = fixture.AgentB;
        var sessionId = (await agent.StartAsync(Host.Url("/demo/metered"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");
        var before = (await agent.CallAsync(McpCalls.WalletStatus, [])).Ok();

        var fetched = (await agent.FetchAsync(sessionId, Host.Url("/demo/metered?charge=0"))).Ok();
        var after = (await agent.CallAsync(McpCalls.WalletStatus, [])).Ok();

        Assert.Equal("paid", fetched.Structured.Str("access"));
        Assert.Equal(("0", "0.005"), (fetched["payment"].Str("amount"), fetched["payment"].Str("maximum")));
        if (before.Structured.Str("day") == after.Structured.Str("day"))
        {
            // Charged 0: the permit's nonce is unused, so it could still settle until its deadline: the maximum stays reserved.
            Assert.Equal(Spent(before, "spent_today"), Spent(after, "spent_today"));
            Assert.Equal(0.005m, Spent(after, "reserved_today") - Spent(before, "reserved_today"));
        }

        (await agent.EndAsync(sessionId)).Ok();
    }

    private static decimal Spent(ToolOutcome status, string field)
    {
        var usdc = Assert.Single(status["assets"].EnumerateArray(), a => a.Str("network") == "eip155:84532" && a.Str("symbol") == "USDC");
        return decimal.Parse(usdc.Str(field), NumberStyles.Number, CultureInfo.InvariantCulture);
    }
}
