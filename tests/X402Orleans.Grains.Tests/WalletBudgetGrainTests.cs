using System.Globalization;
using System.Numerics;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;

namespace X402Orleans.Grains.Tests;

/// <summary>The wallet's daily budget: reservations race, committed spend never passes a cap.</summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class WalletBudgetGrainTests(SessionsClusterFixture fixture)
{
    private const string Asset = "eip155:84532/0x036cbd53842c5426634e7929541ec2318f3dcf7e";
    private readonly IGrainFactory _grains = fixture.Grains;

    private static BudgetRequest Request(string agent, long amount, string? claimedAgentLimit = null, string? claimedWalletLimit = null) =>
        new(Guid.NewGuid(), agent, Asset, "USDC", 6, amount.ToString(CultureInfo.InvariantCulture), claimedAgentLimit, claimedWalletLimit);

    [Fact]
    public async Task Reserve_NeverCommitsMoreThanAgentOrWalletCap_Under1000ConcurrentPayments()
    {
        var budget = _grains.GetGrain<IWalletBudgetGrain>($"0xwallet-{Guid.NewGuid():N}/2026-01-01");
        using var rules = fixture.Services.UseRules(new PaymentRules { AgentDailyLimit = "0.06", WalletDailyLimit = "0.15" });

        // 1000 payments of 1000 atomic units race across 4 agents: each agent may spend 60 000, the wallet 150 000.
        var requests = Enumerable.Range(0, 1000).Select(i => Request($"agent-{i % 4}", 1000)).ToList();
        var decisions = await Task.WhenAll(requests.Select(async r =>
        {
            var decision = await budget.Reserve(r);
            if (decision.Approved)
            {
                await budget.Commit(r.ReservationId);
            }

            return (r.AgentId, decision);
        }));

        Assert.Equal(150, decisions.Count(d => d.decision.Approved));
        Assert.All(decisions.GroupBy(d => d.AgentId), g => Assert.True(g.Count(d => d.decision.Approved) <= 60));
        Assert.All(decisions.Where(d => !d.decision.Approved), d => Assert.Contains("daily limit", d.decision.Message, StringComparison.Ordinal));
        var spend = await budget.GetSpend("agent-0");
        Assert.Equal("150000", Assert.Single(spend).WalletCommittedAtomic);
        Assert.Equal("0", spend[0].WalletReservedAtomic);
    }

    [Fact]
    public async Task Release_FreesTheReservation_WhenThePaymentDidNotHappen()
    {
        var budget = _grains.GetGrain<IWalletBudgetGrain>($"0xwallet-{Guid.NewGuid():N}/2026-01-01");
        using var rules = fixture.Services.UseRules(new PaymentRules { AgentDailyLimits = new Dictionary<string, string?> { ["agent"] = "0.001" } });
        var first = Request("agent", 1000);
        Assert.True((await budget.Reserve(first)).Approved);
        var second = Request("agent", 1000);
        var refused = await budget.Reserve(second);
        Assert.False(refused.Approved);
        Assert.Contains("would exceed your daily limit of 0.001 USDC", refused.Message, StringComparison.Ordinal);

        await budget.Release(first.ReservationId);

        Assert.True((await budget.Reserve(second)).Approved);
        await budget.Commit(second.ReservationId);
        var spend = Assert.Single(await budget.GetSpend("agent"));
        Assert.Equal("1000", spend.AgentCommittedAtomic);
        Assert.Equal(BigInteger.Zero.ToString(CultureInfo.InvariantCulture), spend.AgentReservedAtomic);
    }

    [Fact]
    public async Task Reserve_IsIdempotent_ForTheSameReservationId()
    {
        var budget = _grains.GetGrain<IWalletBudgetGrain>($"0xwallet-{Guid.NewGuid():N}/2026-01-01");
        var request = Request("agent", 1000);
        Assert.True((await budget.Reserve(request)).Approved);
        Assert.True((await budget.Reserve(request)).Approved);
        await budget.Commit(request.ReservationId);
        await budget.Commit(request.ReservationId);
        Assert.Equal("1000", Assert.Single(await budget.GetSpend("agent")).AgentCommittedAtomic);
    }

    [Fact]
    public async Task Reserve_EnforcesTheSilosOwnLimits_WhenTheCallerClaimsHigherOnes()
    {
        var budget = _grains.GetGrain<IWalletBudgetGrain>($"0xwallet-{Guid.NewGuid():N}/2026-01-01");
        using var rules = fixture.Services.UseRules(new PaymentRules { AgentDailyLimit = "0.002", WalletDailyLimit = "1" });

        // A compromised gateway sends limits of its own choosing: they are ignored.
        Assert.True((await budget.Reserve(Request("agent-x", 2000, claimedAgentLimit: "999999999", claimedWalletLimit: "999999999"))).Approved);
        var refused = await budget.Reserve(Request("agent-x", 1, claimedAgentLimit: "999999999", claimedWalletLimit: "999999999"));

        Assert.False(refused.Approved);
        Assert.Contains("would exceed your daily limit of 0.002 USDC", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommitUpTo_CommitsEachPartOnceAndKeepsTheRestReserved_WhenRepeated()
    {
        var budget = _grains.GetGrain<IWalletBudgetGrain>($"0xwallet-{Guid.NewGuid():N}/2026-01-01");
        var deposit = Request("agent", 5000);
        Assert.True((await budget.Reserve(deposit)).Approved);

        await budget.CommitUpTo(deposit.ReservationId, "600");
        await budget.CommitUpTo(deposit.ReservationId, "600");
        await budget.CommitUpTo(deposit.ReservationId, "1600");
        var spend = Assert.Single(await budget.GetSpend("agent"));
        Assert.Equal("1600", spend.AgentCommittedAtomic);
        Assert.Equal("3400", spend.AgentReservedAtomic);

        await budget.Release(deposit.ReservationId);
        spend = Assert.Single(await budget.GetSpend("agent"));
        Assert.Equal("1600", spend.WalletCommittedAtomic);
        Assert.Equal("0", spend.WalletReservedAtomic);
    }
}
