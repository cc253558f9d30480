using X402Orleans.Abstractions;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>The agent index: live sessions and idempotency keys.</summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class AgentGrainTests(SessionsClusterFixture fixture)
{
    private readonly IGrainFactory _grains = fixture.Grains;

    [Fact]
    public async Task ListSessions_ReturnsRegisteredSessionsOnce_WhenRegisteredTwice()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();

        await agent.Register(a);
        await agent.Register(b);
        await agent.Register(a);

        Assert.Equal(new[] { a, b }.Order(), (await agent.ListSessions()).Order());
    }

    [Fact]
    public async Task Unregister_RemovesOnlyThatSession_WhenRegistered()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        var page = await agent.Register(a);
        await agent.Register(b);

        await agent.Unregister(a, page);
        await agent.Unregister(Guid.NewGuid(), page);
        await agent.Unregister(Guid.NewGuid(), -1);

        Assert.Equal(new[] { b }, await agent.ListSessions());
    }

    [Fact]
    public async Task ListSessions_IsEmpty_WhenAgentUnknown()
    {
        Assert.Empty(await _grains.GetGrain<IAgentGrain>(NewAgent()).ListSessions());
    }

    [Fact]
    public async Task ListSessions_IsPerAgent_WhenSessionsOpenedByTwoAgents()
    {
        var alice = NewAgent();
        var bob = NewAgent();
        var (_, aliceSession, _) = await OpenActiveAsync(_grains, alice);
        var (_, bobSession, _) = await OpenActiveAsync(_grains, bob);

        Assert.Equal(new[] { aliceSession }, await _grains.GetGrain<IAgentGrain>(alice).ListSessions());
        Assert.Equal(new[] { bobSession }, await _grains.GetGrain<IAgentGrain>(bob).ListSessions());
    }

    [Fact]
    public async Task ClaimIdempotencyKey_ReturnsProposedSessionAsNew_WhenKeyUnclaimed()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var proposed = Guid.NewGuid();

        var claim = await agent.ClaimIdempotencyKey("key-1", "fp-1", proposed);

        Assert.Equal(new IdempotencyClaim(proposed, IsNew: true, FingerprintMatches: true), claim);
    }

    [Fact]
    public async Task ClaimIdempotencyKey_ReturnsFirstSessionNotNew_WhenSameFingerprint()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var first = Guid.NewGuid();
        await agent.ClaimIdempotencyKey("key-1", "fp-1", first);

        var claim = await agent.ClaimIdempotencyKey("key-1", "fp-1", Guid.NewGuid());

        Assert.Equal(new IdempotencyClaim(first, IsNew: false, FingerprintMatches: true), claim);
    }

    [Fact]
    public async Task ClaimIdempotencyKey_ReportsMismatch_WhenFingerprintDiffers()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var first = Guid.NewGuid();
        await agent.ClaimIdempotencyKey("key-1", "fp-1", first);

        var claim = await agent.ClaimIdempotencyKey("key-1", "fp-2", Guid.NewGuid());

        Assert.Equal(new IdempotencyClaim(first, IsNew: false, FingerprintMatches: false), claim);
    }

    [Fact]
    public async Task ClaimIdempotencyKey_IsPerAgentAndPerKey_WhenSameKeyElsewhere()
    {
        var alice = _grains.GetGrain<IAgentGrain>(NewAgent());
        var bob = _grains.GetGrain<IAgentGrain>(NewAgent());
        await alice.ClaimIdempotencyKey("key-1", "fp-1", Guid.NewGuid());

        var bobs = Guid.NewGuid();
        var otherKey = Guid.NewGuid();
        Assert.True((await bob.ClaimIdempotencyKey("key-1", "fp-1", bobs)).IsNew);
        Assert.True((await alice.ClaimIdempotencyKey("key-2", "fp-1", otherKey)).IsNew);
    }

    [Fact]
    public async Task ReleaseIdempotencyKey_KeepsKey_WhenSessionDoesNotMatch()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var first = Guid.NewGuid();
        await agent.ClaimIdempotencyKey("key-1", "fp-1", first);

        await agent.ReleaseIdempotencyKey("key-1", Guid.NewGuid());
        await agent.ReleaseIdempotencyKey("key-unknown", first);

        var claim = await agent.ClaimIdempotencyKey("key-1", "fp-1", Guid.NewGuid());
        Assert.Equal(new IdempotencyClaim(first, IsNew: false, FingerprintMatches: true), claim);
    }

    [Fact]
    public async Task ReleaseIdempotencyKey_FreesKeyForNewSession_WhenSessionMatches()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var first = Guid.NewGuid();
        await agent.ClaimIdempotencyKey("key-1", "fp-1", first);

        await agent.ReleaseIdempotencyKey("key-1", first);

        var retry = Guid.NewGuid();
        var claim = await agent.ClaimIdempotencyKey("key-1", "fp-2", retry);
        Assert.Equal(new IdempotencyClaim(retry, IsNew: true, FingerprintMatches: true), claim);
    }

    [Fact]
    public async Task AgentState_SurvivesDeactivation_WithSessionsAndKeys()
    {
        var agent = _grains.GetGrain<IAgentGrain>(NewAgent());
        var session = Guid.NewGuid();
        await agent.Register(session);
        await agent.ClaimIdempotencyKey("key-1", "fp-1", session);

        await DeactivateAllIdleAsync(_grains);
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, agent) == 0), "the agent grain was not deactivated");

        Assert.Equal(new[] { session }, await agent.ListSessions());
        Assert.Equal(new IdempotencyClaim(session, IsNew: false, FingerprintMatches: false), await agent.ClaimIdempotencyKey("key-1", "fp-other", Guid.NewGuid()));
    }
}
