using System.Globalization;
using System.Text;
using System.Text.Json;
using Orleans.Runtime;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Storage;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>The agent index in pages: audit log and live sessions, the agent's own record bounded, the version 1 layout migrated.</summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class AgentIndexTests(SessionsClusterFixture fixture)
{
    private readonly IGrainFactory _grains = fixture.Grains;

    [Fact]
    public async Task ListAttempts_ReturnsNewest1000NewestFirst_When2500Recorded()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        for (var i = 0; i < 150; i++)
        {
            await agent.RecordAttempt(Attempt(i));
        }

        var early = await AgentRecordAsync(agentId);
        for (var i = 150; i < 2500; i++)
        {
            await agent.RecordAttempt(Attempt(i));
        }

        var listed = await agent.ListAttempts(5000);

        Assert.Equal(Enumerable.Range(1500, 1000).Reverse().Select(Reason), listed.Select(a => a.Reason));
        Assert.Equal(["2499", "2498", "2497"], (await agent.ListAttempts(3)).Select(a => a.Reason));
        var late = await AgentRecordAsync(agentId);
        Assert.True(late.Size <= early.Size + 2, $"the agent record grew from {early.Size} to {late.Size} bytes");
        Assert.Empty(late.State.Attempts);
    }

    [Fact]
    public async Task ListSessionsPage_ListsEachLiveSessionOnceOldestFirst_When250LiveAmongEnded()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var registered = new List<(Guid Id, long Page)>();
        for (var i = 0; i < 300; i++)
        {
            var id = Guid.NewGuid();
            registered.Add((id, await agent.Register(id)));
        }

        var early = await AgentRecordAsync(agentId);
        var ended = registered.Where((_, i) => i % 6 == 0).ToList();
        foreach (var (id, page) in ended)
        {
            await agent.Unregister(id, page);
        }

        var listed = new List<Guid>();
        long? from = 0;
        var calls = 0;
        while (from is { } position)
        {
            var page = await agent.ListSessionsPage(position, 40);
            Assert.InRange(page.SessionIds.Count, 0, 40);
            listed.AddRange(page.SessionIds);
            from = page.Next;
            Assert.True(++calls < 50, "paging did not end");
        }

        var live = registered.Except(ended).Select(r => r.Id).ToList();
        Assert.Equal(250, live.Count);
        Assert.Equal(live, listed);
        Assert.Equal(live, await agent.ListSessions());
        var late = await AgentRecordAsync(agentId);
        Assert.True(late.Size <= early.Size, $"the agent record grew from {early.Size} to {late.Size} bytes");
        Assert.Empty(late.State.Sessions);
    }

    [Fact]
    public async Task AgentRecord_StaysBounded_WhenManySessionsStartAndEnd()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var first = Guid.NewGuid();
        var firstPage = await agent.Register(first);
        var early = await AgentRecordAsync(agentId);

        for (var i = 0; i < 1000; i++)
        {
            var id = Guid.NewGuid();
            await agent.Unregister(id, await agent.Register(id));
        }

        var late = await AgentRecordAsync(agentId);
        Assert.True(late.Size <= early.Size + 8, $"the agent record grew from {early.Size} to {late.Size} bytes");
        Assert.Equal([first], await agent.ListSessions());

        // The long-lived session pins its page; every page emptied since has left the record.
        await agent.Unregister(first, firstPage);
        Assert.Empty(await agent.ListSessions());
        Assert.Single((await AgentRecordAsync(agentId)).State.LiveSessionPages);
    }

    [Fact]
    public async Task AgentGrain_MigratesVersion1Record_WhenActivatedOnOldLayout()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var live = Guid.NewGuid();
        var other = Guid.NewGuid();
        var keyed = Guid.NewGuid();
        var attempts = string.Join(",", Enumerable.Range(0, 150).Select(i => JsonSerializer.Serialize(Attempt(i), StateJsonSerializer.Options)));
        var v1 = $$$"""
            {"schema_version":1,"sessions":["{{{live}}}","{{{other}}}"],
             "idempotency_keys":{"Run-42/ABC":{"session_id":"{{{keyed}}}","fingerprint":"F0"}},
             "attempts":[{{{attempts}}}]}
            """;
        using (var document = JsonDocument.Parse(v1))
        {
            await fixture.Storage.WriteStateAsync("agent", agent.GetGrainId(), new GrainState<JsonElement>(document.RootElement.Clone()));
        }

        Assert.Equal(new[] { live, other }.Order(), (await agent.ListSessions()).Order());
        Assert.Equal(new IdempotencyClaim(keyed, IsNew: false, FingerprintMatches: true), await agent.ClaimIdempotencyKey("Run-42/ABC", "F0", Guid.NewGuid()));
        Assert.Equal(new IdempotencyClaim(keyed, IsNew: false, FingerprintMatches: false), await agent.ClaimIdempotencyKey("Run-42/ABC", "F1", Guid.NewGuid()));
        Assert.Equal(Enumerable.Range(0, 150).Reverse().Select(Reason), (await agent.ListAttempts(1000)).Select(a => a.Reason));

        // A session registered by the old layout does not know its page.
        await agent.Unregister(live, -1);
        Assert.Equal([other], await agent.ListSessions());

        var record = await AgentRecordAsync(agentId);
        Assert.Equal(AgentState.CurrentSchemaVersion, record.State.SchemaVersion);
        Assert.Empty(record.State.Sessions);
        Assert.Empty(record.State.IdempotencyKeys);
        Assert.Empty(record.State.Attempts);
        Assert.Equal(1, fixture.Services.Logs.Count(30, agentId));

        // Migrated once: a new activation reads the trimmed record.
        await DeactivateAllIdleAsync(_grains);
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, agent) == 0), "the agent grain was not deactivated");
        Assert.Equal([other], await agent.ListSessions());
        Assert.Equal(150, (await agent.ListAttempts(1000)).Count);
        Assert.Equal(1, fixture.Services.Logs.Count(30, agentId));
    }

    private static string Reason(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static PaymentAttempt Attempt(int i) =>
        new(ClusterServices.Start.AddSeconds(i), Guid.Empty, Endpoint + "/data", "eip155:84532", "0xasset", Usdc, 6, "1000", "0xpay", "refused", null, Reason(i));

    /// <summary>The agent's stored record and its size as stored (JSON bytes).</summary>
    private async Task<(AgentState State, int Size)> AgentRecordAsync(string agentId)
    {
        var grainState = new GrainState<AgentState>(new AgentState());
        await fixture.Storage.ReadStateAsync("agent", _grains.GetGrain<IAgentGrain>(agentId).GetGrainId(), grainState);
        Assert.True(grainState.RecordExists, "the agent has no stored record");
        var stored = grainState.State ?? throw new InvalidOperationException("the agent's record is empty");
        var json = new StateJsonSerializer().Serialize(stored).ToString();
        return (stored, Encoding.UTF8.GetByteCount(json));
    }
}

/// <summary>An idempotency key lives as long as its session: freed when the start fails or the session is purged.</summary>
[Collection(ExpiryClusterDefinition.Name)]
public sealed class IdempotencyLifetimeTests(ExpiryClusterFixture fixture)
{
    private readonly IGrainFactory _grains = fixture.Grains;

    [Fact]
    public async Task ClaimIdempotencyKey_IsNewAgain_WhenSessionPurgedAfterRetention()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var sessionId = Guid.NewGuid();
        Assert.True((await agent.ClaimIdempotencyKey("key-1", "fp-1", sessionId)).IsNew);
        var grain = _grains.GetGrain<ISessionGrain>(sessionId);
        Assert.True((await grain.Open(Command(agentId) with { IdempotencyKey = "key-1" })).Succeeded);
        Assert.True((await grain.Activate(agentId, ReuseMode.Free, null)).Succeeded);
        await grain.End(agentId);

        fixture.Services.Clock.Advance(new SessionLifecycleOptions().Retention - TimeSpan.FromMinutes(1));
        await LifecycleTickAsync(grain);
        Assert.Equal(new IdempotencyClaim(sessionId, IsNew: false, FingerprintMatches: true), await agent.ClaimIdempotencyKey("key-1", "fp-1", Guid.NewGuid()));

        fixture.Services.Clock.Advance(TimeSpan.FromMinutes(1));
        await LifecycleTickAsync(grain);

        Assert.Equal(SessionErrorCode.NotFound, (await grain.GetStatus(agentId)).Error);
        var retry = Guid.NewGuid();
        Assert.Equal(new IdempotencyClaim(retry, IsNew: true, FingerprintMatches: true), await agent.ClaimIdempotencyKey("key-1", "fp-2", retry));
    }

    [Fact]
    public async Task ClaimIdempotencyKey_IsNewAgain_WhenStartAbandoned()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var sessionId = Guid.NewGuid();
        await agent.ClaimIdempotencyKey("key-1", "fp-1", sessionId);
        var grain = _grains.GetGrain<ISessionGrain>(sessionId);
        await grain.Open(Command(agentId) with { IdempotencyKey = "key-1" });

        Assert.True((await grain.Abandon(agentId, "first request failed")).Succeeded);

        var retry = Guid.NewGuid();
        Assert.Equal(new IdempotencyClaim(retry, IsNew: true, FingerprintMatches: true), await agent.ClaimIdempotencyKey("key-1", "fp-1", retry));
        Assert.DoesNotContain(sessionId, await agent.ListSessions());
    }

    /// <summary>Delivers the lifecycle reminder's tick (the test cluster has no reminder service; the grain handles ticks alike).</summary>
    private static Task LifecycleTickAsync(ISessionGrain grain) =>
        grain.AsReference<IRemindable>().ReceiveReminder(SessionGrain.LifecycleReminderName, default);
}
