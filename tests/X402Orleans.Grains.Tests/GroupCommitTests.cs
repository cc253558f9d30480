using System.Globalization;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// Group commit in the hot grains: concurrent calls share writes, every caller is answered only once its change is stored, a
/// failed write fails every call it covered and leaves nothing behind. The first write is held by the storage probe until the
/// other calls have entered the grain, so the counts are exact.
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class GroupCommitTests(SessionsClusterFixture fixture)
{
    private const string Asset = "eip155:84532/0x036cbd53842c5426634e7929541ec2318f3dcf7e";
    private readonly IGrainFactory _grains = fixture.Grains;
    private readonly StorageProbe _probe = fixture.Services.Probe;

    private static BudgetRequest Request(string agent, long amount) =>
        new(Guid.NewGuid(), agent, Asset, Usdc, 6, amount.ToString(CultureInfo.InvariantCulture), null, null);

    private static IWalletBudgetGrain NewBudget(IGrainFactory grains) => grains.GetGrain<IWalletBudgetGrain>($"0xwallet-{Guid.NewGuid():N}/2026-01-01");

    /// <summary>Starts <paramref name="first"/>, holds its write, then starts <paramref name="rest"/> and waits until they all entered the grain.</summary>
    private async Task<(HeldWrite Hold, List<Task<T>> Calls)> RaceBehindHeldWriteAsync<T>(IAddressable grain, Func<Task<T>> first, IEnumerable<Func<Task<T>>> rest)
    {
        var id = grain.GetGrainId();
        var hold = _probe.HoldNextWrite(id);
        var entered = _probe.Entered(id);
        List<Task<T>> calls = [first()];
        await hold.Started;
        calls.AddRange(rest.Select(call => call()));
        await _probe.WhenEntered(id, entered + calls.Count);
        return (hold, calls);
    }

    [Fact]
    public async Task Reserve_ApprovesExactlyTheCapWithTwoWrites_When120RaceBehindAHeldWrite()
    {
        var budget = NewBudget(_grains);
        using var rules = fixture.Services.UseRules(new PaymentRules { WalletDailyLimit = "0.1" });
        await budget.GetSpend("agent");
        var requests = Enumerable.Range(0, 120).Select(_ => Request("agent", 1000)).ToList();

        var (hold, calls) = await RaceBehindHeldWriteAsync(budget, () => budget.Reserve(requests[0]), requests.Skip(1).Select(r => (Func<Task<BudgetDecision>>)(() => budget.Reserve(r))));
        Assert.All(calls, c => Assert.False(c.IsCompleted));
        hold.Release();
        var decisions = await Task.WhenAll(calls);

        Assert.Equal(100, decisions.Count(d => d.Approved));
        Assert.Equal(2, _probe.Writes(budget.GetGrainId()));
        await DeactivateAllIdleAsync(_grains);
        Assert.Equal(0, await ActivationCountAsync(_grains, budget));
        Assert.Equal("100000", Assert.Single(await budget.GetSpend("agent")).WalletReservedAtomic);
    }

    [Fact]
    public async Task Reserve_FailsEveryCoveredCallerAndLeavesNoReservation_WhenTheSharedWriteFails()
    {
        var budget = NewBudget(_grains);
        Assert.True((await budget.Reserve(Request("agent", 1000))).Approved);
        var writesBefore = _probe.Writes(budget.GetGrainId());

        // Three reservations and a read that saw them all wait on the same failed write.
        var (hold, calls) = await RaceBehindHeldWriteAsync<object>(
            budget,
            async () => await budget.Reserve(Request("agent", 3000)),
            [async () => await budget.Reserve(Request("agent", 3000)), async () => await budget.Reserve(Request("agent", 3000)), async () => await budget.GetSpend("agent")]);
        hold.Fail(new StorageUnavailableException("injected write failure"));

        foreach (var call in calls)
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(() => call);
        }

        Assert.Equal(writesBefore + 1, _probe.Writes(budget.GetGrainId()));
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, budget) == 0), "the failed activation stayed");
        var spend = Assert.Single(await budget.GetSpend("agent"));
        Assert.Equal("1000", spend.WalletReservedAtomic);
        Assert.Equal("0", spend.WalletCommittedAtomic);
        Assert.True((await budget.Reserve(Request("agent", 9000))).Approved);
    }

    [Fact]
    public async Task Commit_LeavesTheReservationUncommitted_WhenItsWriteFails()
    {
        var budget = NewBudget(_grains);
        var request = Request("agent", 1000);
        Assert.True((await budget.Reserve(request)).Approved);

        var (hold, calls) = await RaceBehindHeldWriteAsync(budget, async () => { await budget.Commit(request.ReservationId); return true; }, []);
        hold.Fail(new StorageUnavailableException("injected write failure"));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => Assert.Single(calls));

        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, budget) == 0), "the failed activation stayed");
        var spend = Assert.Single(await budget.GetSpend("agent"));
        Assert.Equal(("0", "1000"), (spend.WalletCommittedAtomic, spend.WalletReservedAtomic));
        await budget.Commit(request.ReservationId);
        spend = Assert.Single(await budget.GetSpend("agent"));
        Assert.Equal(("1000", "0"), (spend.WalletCommittedAtomic, spend.WalletReservedAtomic));
    }

    [Fact]
    public async Task Register_Indexes150SessionsOnceInTwoPages_WhenTheyRaceBehindAHeldPageWrite()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var firstPage = _grains.GetGrain<ISessionPageGrain>(PageSizes.PageKey(agentId, 0));
        var ids = Enumerable.Range(0, 150).Select(_ => Guid.NewGuid()).ToList();

        var (hold, calls) = await RaceBehindHeldWriteAsync(firstPage, () => agent.Register(ids[0]), ids.Skip(1).Select(id => (Func<Task<long>>)(() => agent.Register(id))));
        Assert.All(calls, c => Assert.False(c.IsCompleted));
        hold.Release();
        var pages = await Task.WhenAll(calls);

        Assert.Equal(2, _probe.Writes(firstPage.GetGrainId()));
        Assert.Equal(100, pages.Count(p => p == 0));
        Assert.Equal(50, pages.Count(p => p == 1));
        await DeactivateAllIdleAsync(_grains);
        Assert.Equal(ids.Order(), (await agent.ListSessions()).Order());
        foreach (var (id, page) in ids.Zip(pages))
        {
            await agent.Unregister(id, page);
        }

        Assert.Empty(await agent.ListSessions());
    }

    [Fact]
    public async Task Register_FailsEveryRacingCallerAndListsNone_WhenTheSharedPageWriteFails()
    {
        var agentId = NewAgent();
        var agent = _grains.GetGrain<IAgentGrain>(agentId);
        var firstPage = _grains.GetGrain<ISessionPageGrain>(PageSizes.PageKey(agentId, 0));
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToList();

        var (hold, calls) = await RaceBehindHeldWriteAsync(firstPage, () => agent.Register(ids[0]), ids.Skip(1).Select(id => (Func<Task<long>>)(() => agent.Register(id))));
        hold.Fail(new StorageUnavailableException("injected write failure"));
        foreach (var call in calls)
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(() => call);
        }

        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, firstPage) == 0), "the failed page activation stayed");
        Assert.Empty(await agent.ListSessions());
        var retried = Guid.NewGuid();
        Assert.Equal(0, await agent.Register(retried));
        Assert.Equal([retried], await agent.ListSessions());
    }
}
