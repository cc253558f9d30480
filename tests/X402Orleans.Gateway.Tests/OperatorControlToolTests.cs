using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// The operator's controls as an agent sees them through the MCP tools: the kill switch refuses a paid start with nothing paid
/// (the paywall's own counters prove it), a suspended agent's start is refused, stopped calls refuse a fetch. Each test puts the
/// controls back; the collection's classes run one after another, so no other test sees them.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class OperatorControlToolTests(GatewayFixture fixture)
{
    private const string Operator = "gateway-tests";
    private GatewayHost Host => fixture.Host;

    private IOperatorControlGrain Control => Host.Services.GetRequiredService<IGrainFactory>().GetGrain<IOperatorControlGrain>(0);

    [Fact]
    public async Task SessionStart_IsErrorAndPaysNothing_WhenPaymentsArePaused()
    {
        var before = await Host.GetStatsAsync();
        await Control.SetPaymentsPaused(Operator, true);
        try
        {
            var text = (await fixture.AgentA.StartAsync(Host.Url("/demo/quote"))).Error();

            Assert.Contains("payments are paused by the operator", text, StringComparison.Ordinal);
            var after = await Host.GetStatsAsync();
            Assert.Equal(before.Payments, after.Payments);
            Assert.Equal(before.ServedOn("/demo/quote"), after.ServedOn("/demo/quote"));
        }
        finally
        {
            await Control.SetPaymentsPaused(Operator, false);
        }
    }

    [Fact]
    public async Task SessionStart_IsErrorNamingTheAgent_WhenTheAgentIsSuspended()
    {
        await Control.SetAgentSuspended(Operator, GatewayHost.AgentBId, true);
        try
        {
            var refused = (await fixture.AgentB.StartAsync(Host.Url("/demo/free"))).Error();
            var other = await fixture.AgentA.StartAsync(Host.Url("/demo/free"));

            Assert.Contains($"agent '{GatewayHost.AgentBId}' is suspended by the operator", refused, StringComparison.Ordinal);
            other.Ok();
        }
        finally
        {
            await Control.SetAgentSuspended(Operator, GatewayHost.AgentBId, false);
        }
    }

    [Fact]
    public async Task SessionFetch_IsError_WhenCallsAreStopped()
    {
        var before = await Host.GetStatsAsync();
        var sessionId = (await fixture.AgentA.StartAsync(Host.Url("/demo/free"))).Ok().Structured.Str("session_id");
        await Control.SetCallsStopped(Operator, true);
        try
        {
            var text = (await fixture.AgentA.FetchAsync(sessionId)).Error();

            Assert.Contains("calls are stopped by the operator", text, StringComparison.Ordinal);
            Assert.Equal(1, (await Host.GetStatsAsync()).ServedOn("/demo/free") - before.ServedOn("/demo/free"));
        }
        finally
        {
            await Control.SetCallsStopped(Operator, false);
        }

        (await fixture.AgentA.FetchAsync(sessionId)).Ok();
    }
}
