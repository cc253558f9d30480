namespace X402Orleans.Gateway.Tests;

/// <summary>
/// <c>x402_channel_withdraw</c> without a chain, on a host of its own (the shared host's demo channels are counted by other tests):
/// the demo paywall's <c>/demo/stream</c> opens a channel; with no JSON-RPC node configured the withdraw is an isError naming the
/// settings to set (and nothing is recorded), status shows the channel, and another agent cannot reach it.
/// </summary>
public sealed class ChannelWithdrawToolTests
{
    [Fact]
    public async Task ChannelWithdraw_NamesTheRpcSettings_WhenNoNodeIsConfiguredForTheNetwork()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var agent = await host.ConnectAsync(GatewayHost.AgentAKey);
        var sessionId = (await agent.StartAsync(host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");

        var error = (await agent.CallAsync(McpCalls.ChannelWithdraw, new() { ["session_id"] = sessionId, ["action"] = "initiate" })).Error();
        var status = (await agent.CallAsync(McpCalls.ChannelWithdraw, new() { ["session_id"] = sessionId })).Ok();

        Assert.Contains("X402__Payments__Rpc__N__Network=", error, StringComparison.Ordinal);
        Assert.Contains("X402__Payments__Rpc__N__Url=", error, StringComparison.Ordinal);
        Assert.Equal(("status", "open"), (status.Structured.Str("outcome"), status.Structured.Str("phase")));
        Assert.Empty(status["transactions"].EnumerateArray());
    }

    [Fact]
    public async Task ChannelWithdraw_IsAnError_ForAnotherAgentsSessionOrChannel()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var owner = await host.ConnectAsync(GatewayHost.AgentAKey);
        await using var other = await host.ConnectAsync(GatewayHost.AgentBKey);
        var sessionId = (await owner.StartAsync(host.Url("/demo/stream"), new() { ["max_payment"] = "0.01" })).Ok().Structured.Str("session_id");
        var channel = (await owner.CallAsync(McpCalls.ChannelWithdraw, new() { ["session_id"] = sessionId })).Ok().Structured.Str("channel");

        var bySession = (await other.CallAsync(McpCalls.ChannelWithdraw, new() { ["session_id"] = sessionId, ["action"] = "status" })).Error();
        var byChannel = (await other.CallAsync(McpCalls.ChannelWithdraw, new() { ["channel"] = channel, ["action"] = "status" })).Error();

        Assert.Contains(sessionId, bySession, StringComparison.Ordinal);
        Assert.Contains("no batch-settlement channel of yours", byChannel, StringComparison.Ordinal);
    }
}
