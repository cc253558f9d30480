using System.Globalization;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// <c>batch-settlement</c> through the MCP tools and the demo paywall's <c>/demo/stream</c> (0.001 per call, by channel voucher): the
/// start deposits once, each fetch pays by voucher alone, status shows the channel, and the end asks for the refund of the rest —
/// only when no other live session uses the channel. Every session of the silo's wallet on the demo payee shares one channel.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class BatchSessionToolTests(GatewayFixture fixture)
{
    private GatewayHost Host => fixture.Host;

    [Fact]
    public async Task SessionTools_DepositOnceAndPayEachFetchByVoucher_AndEndRefundsTheRest()
    {
        var agent = fixture.AgentA;
        var before = await Host.GetStatsAsync();
        var walletBefore = (await agent.CallAsync(McpCalls.WalletStatus, [])).Ok();

        var started = (await agent.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok();
        var sessionId = started.Structured.Str("session_id");
        var fetched = new List<ToolOutcome>();
        for (var i = 0; i < 3; i++)
        {
            fetched.Add((await agent.FetchAsync(sessionId, Host.Url("/demo/stream"))).Ok());
        }

        var afterFetches = await Host.GetStatsAsync();
        var first = started["payment"];
        Assert.Equal(("batch-settlement", "0.001", "0.005", "0.004"), (first.Str("scheme"), first.Str("amount"), first.Str("deposit"), first.Str("channel_remaining")));
        Assert.All(fetched, f => Assert.Equal(("paid", "0.001"), (f.Structured.Str("access"), f["payment"].Str("amount"))));
        Assert.All(fetched, f => Assert.Equal(System.Text.Json.JsonValueKind.Null, f["payment"].GetProperty("deposit").ValueKind));
        Assert.Equal("0.001", fetched[^1]["payment"].Str("channel_remaining"));
        Assert.Equal((1, 4), (afterFetches.Channels!.Deposits - before.Channels!.Deposits, afterFetches.Channels.Vouchers - before.Channels.Vouchers));

        var status = (await agent.StatusAsync(sessionId)).Ok().Single();
        var channel = status.GetProperty("channel");
        Assert.Equal(("open", "0.005", "0.001", "0.004"), (channel.Str("phase"), channel.Str("deposit"), channel.Str("remaining"), channel.Str("session_charged")));
        Assert.Equal("0.004", channel.Str("highest_signed")); // the last voucher: 0.003 charged before it + its price 0.001
        Assert.Equal("0.004", Assert.Single(status.GetProperty("total_paid").EnumerateArray()).Str("amount"));

        var ended = (await agent.EndAsync(sessionId)).Ok();
        var afterEnd = await Host.GetStatsAsync();

        Assert.Equal("0.001", ended["refund"].Str("amount"));
        Assert.Equal(("refunded", "0"), (ended["channel"].Str("phase"), ended["channel"].Str("remaining")));
        Assert.Equal(1, afterEnd.Channels!.Refunds - afterFetches.Channels.Refunds);
        var log = (await agent.CallAsync(McpCalls.PaymentLog, new() { ["limit"] = 10 })).Ok()["attempts"].EnumerateArray().ToList();
        Assert.Contains(log, a => a.Str("outcome") == "deposited" && a.Str("amount_atomic") == "5000");
        Assert.Contains(log, a => a.Str("outcome") == "refunded" && a.Str("amount_atomic") == "1000");
        var walletAfter = (await agent.CallAsync(McpCalls.WalletStatus, [])).Ok();
        if (walletBefore.Structured.Str("day") == walletAfter.Structured.Str("day"))
        {
            // The deposit was reserved; the charges were committed out of it and the refunded rest released.
            Assert.Equal(0.004m, Spent(walletAfter, "spent_today") - Spent(walletBefore, "spent_today"));
            Assert.Equal(Spent(walletBefore, "reserved_today"), Spent(walletAfter, "reserved_today"));
        }
    }

    [Fact]
    public async Task SessionEnd_RefundsNothing_WhileTheAgentsOtherSessionStillUsesTheChannel()
    {
        var first = (await fixture.AgentB.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");
        var second = (await fixture.AgentB.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok();
        var before = await Host.GetStatsAsync();

        var endedFirst = (await fixture.AgentB.EndAsync(first)).Ok();
        var afterFirst = await Host.GetStatsAsync();
        var endedSecond = (await fixture.AgentB.EndAsync(second.Structured.Str("session_id"))).Ok();
        var afterSecond = await Host.GetStatsAsync();

        Assert.Equal(System.Text.Json.JsonValueKind.Null, second["payment"].GetProperty("deposit").ValueKind); // the same channel: no second deposit
        Assert.Equal(System.Text.Json.JsonValueKind.Null, endedFirst["refund"].ValueKind);
        Assert.Contains("1 other live session", endedFirst["channel"].Str("note"), StringComparison.Ordinal);
        Assert.Equal(before.Channels!.Refunds, afterFirst.Channels!.Refunds);
        Assert.Equal("refunded", endedSecond["channel"].Str("phase"));
        Assert.Equal(1, afterSecond.Channels!.Refunds - afterFirst.Channels.Refunds);
    }

    [Fact]
    public async Task SessionStart_PaysThroughEachAgentsOwnChannel_WhenTwoAgentsUseOnePayee()
    {
        var a = (await fixture.AgentA.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");
        var b = (await fixture.AgentB.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");
        try
        {
            var channelA = (await fixture.AgentA.StatusAsync(a)).Ok().Single().GetProperty("channel").Str("channel_id");
            var channelB = (await fixture.AgentB.StatusAsync(b)).Ok().Single().GetProperty("channel").Str("channel_id");

            // One wallet, one payee, two agents: two channels, so each agent's deposits and charges stay on its own daily budget.
            Assert.NotEqual(channelA, channelB);
        }
        finally
        {
            await fixture.AgentA.EndAsync(a);
            await fixture.AgentB.EndAsync(b);
        }
    }

    [Fact]
    public async Task SessionFetch_PaysEachParallelCallThroughAFreeChannel_WhenOneAgentCallsOnePayeeAtOnce()
    {
        var agent = fixture.AgentA;
        var sessionId = (await agent.StartAsync(Host.Url("/demo/stream"), new() { ["max_payment"] = "0.01", ["allow_repeat_payments"] = true })).Ok().Structured.Str("session_id");
        var before = await Host.GetStatsAsync();

        // Four calls at once (the default pool holds four channels): however they interleave, none is refused as "channel busy".
        var fetched = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => agent.FetchAsync(sessionId, Host.Url("/demo/stream"))));
        var after = await Host.GetStatsAsync();
        var channels = (await agent.StatusAsync(sessionId)).Ok().Single().GetProperty("channels").EnumerateArray().ToList();
        var ended = (await agent.EndAsync(sessionId)).Ok();
        var afterEnd = await Host.GetStatsAsync();

        Assert.All(fetched, f => Assert.Equal(("paid", "0.001"), (f.Ok().Structured.Str("access"), f["payment"].Str("amount"))));
        Assert.Equal(channels.Count, channels.Select(c => c.Str("channel_id")).Distinct().Count());
        Assert.Equal(channels.Count - 1, after.Channels!.Deposits - before.Channels!.Deposits); // channel 0 was opened by the start; each further one deposits once
        Assert.Equal(4, after.Channels.Vouchers - before.Channels.Vouchers);
        Assert.Equal(channels.Count, afterEnd.Channels!.Refunds - after.Channels.Refunds); // the end refunds every channel the session used
        Assert.All(ended["channels"].EnumerateArray(), c => Assert.Equal("refunded", c.Str("phase")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void Validate_FailsNamingChannelPoolSize_WhenItIsOutOfRange(int size)
    {
        var result = new X402Orleans.Gateway.Configuration.X402OptionsValidator().Validate(null, new() { Payments = new() { ChannelPoolSize = size } });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("X402:Payments:ChannelPoolSize", StringComparison.Ordinal));
    }

    private static decimal Spent(ToolOutcome status, string field)
    {
        var usdc = Assert.Single(status["assets"].EnumerateArray(), a => a.Str("network") == "eip155:84532" && a.Str("symbol") == "USDC");
        return decimal.Parse(usdc.Str(field), NumberStyles.Number, CultureInfo.InvariantCulture);
    }
}
