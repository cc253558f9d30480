using System.Globalization;
using System.Text.Json.Nodes;
using Orleans.Runtime;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// The channel grain's unilateral withdraw (no chain: the test plays the caller that reads the chain and broadcasts): the intent is
/// stored before anything is signed and the transaction before it is returned, a retry gets the recorded transaction back instead of
/// a second one, no voucher is signed while withdrawing, and finalize is refused before the delay with the time it becomes possible.
/// </summary>
public sealed partial class PaymentChannelGrainTests
{
    private const long InitiatedAt = 1_800_000_000;

    private IChannelWithdrawGrain Withdraw => _grains.GetGrain<IChannelWithdrawGrain>(ChannelKeys.For(Network, ChannelId));

    private WithdrawRequest Chain(long now = InitiatedAt, long pendingAt = 0, string nonce = "3", string balance = "5000", string claimed = "0") =>
        new(_agent, now, balance, claimed, pendingAt == 0 ? "0" : "5000", pendingAt, new WithdrawFees(nonce, "1000000", "2000000000", "100000"));

    /// <summary>A channel with a 5000 deposit and one 1000 charge, nothing in flight.</summary>
    private async Task OpenChannelAsync()
    {
        var payment = await PrepareAsync();
        Assert.True((await Channel.CompleteRequest(payment.RequestId, Receipt(Price, 5000, Price))).Accepted);
    }

    private async Task<PaymentChannelState> StoredAsync()
    {
        var stored = new GrainState<PaymentChannelState>();
        await fixture.Storage.ReadStateAsync("channel", Channel.GetGrainId(), stored);
        return stored.State ?? throw new InvalidOperationException("no stored channel state");
    }

    /// <summary>Starts an initiate, lets its intent write through and holds the write of its transaction.</summary>
    private async Task<(Task<WithdrawStep> Initiate, HeldWrite TransactionWrite)> InitiateHoldingTheTransactionWriteAsync()
    {
        await OpenChannelAsync();
        var intentWrite = fixture.Services.Probe.HoldNextWrite(Channel.GetGrainId());
        var initiate = Withdraw.InitiateWithdraw(Chain());
        await intentWrite.Started;
        var txWrite = fixture.Services.Probe.HoldNextWrite(Channel.GetGrainId());
        intentWrite.Release();
        await txWrite.Started;
        return (initiate, txWrite);
    }

    private async Task<WithdrawStep> InitiatedAndMinedAsync()
    {
        var step = await Withdraw.InitiateWithdraw(Chain());
        Assert.True(step.Succeeded, step.Message);
        await Withdraw.RecordWithdrawOutcome(new WithdrawOutcome(step.TxHash!, WithdrawTxStatus.Mined, InitiatedAt, null, null));
        return step;
    }

    /// <summary>The entries the channel wrote to <paramref name="agent"/>'s payment log (no session), oldest first.</summary>
    private async Task<List<PaymentAttempt>> ChannelLogAsync(string agent) =>
        [.. (await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(100)).Where(a => a.SessionId == Guid.Empty).Reverse()];

    [Fact]
    public async Task RecordWithdrawOutcome_LogsEachMinedStepOnce_WhenEachIsReportedTwice()
    {
        await OpenChannelAsync();
        var initiate = await InitiatedAndMinedAsync();
        await Withdraw.RecordWithdrawOutcome(new WithdrawOutcome(initiate.TxHash!, WithdrawTxStatus.Mined, InitiatedAt, null, null));
        var finalize = await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 900, pendingAt: InitiatedAt, nonce: "4"));
        var mined = new WithdrawOutcome(finalize.TxHash!, WithdrawTxStatus.Mined, InitiatedAt + 901, "4000", null);

        await Withdraw.RecordWithdrawOutcome(mined);
        await Withdraw.RecordWithdrawOutcome(mined);

        var log = await ChannelLogAsync(_agent);
        Assert.Equal(["withdraw_initiated", "withdrawn"], log.Select(a => a.Outcome));
        Assert.Equal(["5000", "4000"], log.Select(a => a.AmountAtomic)); // asked for, then returned
        Assert.Equal([initiate.TxHash, finalize.TxHash], log.Select(a => a.Transaction));
        Assert.All(log, a => Assert.Equal(("USDC", 6, Network), (a.Symbol, a.Decimals, a.Network)));
        Assert.Empty((await StoredAsync()).LogOutbox);
    }

    [Fact]
    public async Task FinalizeWithdraw_LogsEachClaimIncreaseOnce_WhenTheChainShowsMoreClaimed()
    {
        await OpenChannelAsync();
        await InitiatedAndMinedAsync();

        await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 10, pendingAt: InitiatedAt, claimed: "1000"));
        await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 20, pendingAt: InitiatedAt, claimed: "1000"));
        await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 30, pendingAt: InitiatedAt, claimed: "1500"));

        var claims = (await ChannelLogAsync(_agent)).Where(a => a.Outcome == "claimed").ToList();
        Assert.Equal(["1000", "500"], claims.Select(a => a.AmountAtomic));
        Assert.All(claims, a => Assert.Null(a.Transaction));
        var status = await Channel.GetStatus();
        Assert.Equal("1500", status.ClaimedAtomic);
        Assert.NotNull(status.ClaimedSeenAt);
    }

    [Fact]
    public async Task InitiateWithdraw_LogsNothing_WhenAnotherAgentAsks()
    {
        await OpenChannelAsync();
        var other = TestData.NewAgent();

        var step = await Withdraw.InitiateWithdraw(Chain(claimed: "1000") with { AgentId = other });

        Assert.Equal(WithdrawRefusal.NotFound, step.Refusal);
        Assert.Empty(await ChannelLogAsync(other));
        Assert.Empty(await ChannelLogAsync(_agent));
        Assert.Null((await Channel.GetStatus()).ClaimedAtomic);
    }

    [Fact]
    public async Task InitiateWithdraw_StoresIntentBeforeSigningAndTransactionBeforeReturning_OnFirstCall()
    {
        var (initiate, txWrite) = await InitiateHoldingTheTransactionWriteAsync();

        var intent = await StoredAsync();
        Assert.Equal(ChannelPhase.Withdrawing, intent.Phase);
        Assert.Equal("5000", intent.Withdraw!.AmountAtomic); // everything unclaimed: the contract caps it at finalisation
        Assert.Equal("4000", intent.Withdraw.AtLeastAtomic); // 5000 − the highest ceiling signed (1000): the server may claim that much
        Assert.Empty(intent.Withdraw.Transactions);
        Assert.False(initiate.IsCompleted, "the transaction was returned before it was stored");
        txWrite.Release();
        var step = await initiate;

        Assert.True(step.Succeeded, step.Message);
        var recorded = Assert.Single((await StoredAsync()).Withdraw!.Transactions);
        Assert.Equal(step.TxHash, recorded.Hash);
        Assert.Equal(step.RawTransaction, recorded.Raw);
        Assert.Equal(step.TxHash, Eip1559Transaction.HashOf(step.RawTransaction!));
        Assert.StartsWith("0x02", step.RawTransaction, StringComparison.Ordinal);
        Assert.Contains(WithdrawCalls.Initiate(ChannelConfig.TryRead(JsonNode.Parse(intent.ConfigJson) as JsonObject, out var config, out _) ? config! : throw new InvalidOperationException(), 5000)[2..], step.RawTransaction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitiateWithdraw_ReturnsNothing_WhenTheTransactionCannotBeStored()
    {
        var (initiate, txWrite) = await InitiateHoldingTheTransactionWriteAsync();
        txWrite.Fail(new IOException("storage down"));

        await Assert.ThrowsAnyAsync<Exception>(() => initiate);

        var stored = await StoredAsync();
        Assert.Equal(ChannelPhase.Withdrawing, stored.Phase);
        Assert.Empty(stored.Withdraw!.Transactions);
        var retry = await Withdraw.InitiateWithdraw(Chain());
        Assert.True(retry.Succeeded, retry.Message);
        Assert.False(retry.Resumed);
        Assert.Equal(retry.TxHash, Assert.Single((await StoredAsync()).Withdraw!.Transactions).Hash);
    }

    [Fact]
    public async Task InitiateWithdraw_ReturnsTheRecordedTransaction_WhenRetriedBeforeItIsResolved()
    {
        await OpenChannelAsync();
        var first = await Withdraw.InitiateWithdraw(Chain(nonce: "3"));

        var retry = await Withdraw.InitiateWithdraw(Chain(nonce: "4"));

        Assert.True(retry.Resumed);
        Assert.Equal(first.TxHash, retry.TxHash);
        Assert.Equal(first.RawTransaction, retry.RawTransaction);
        Assert.Single((await Withdraw.GetWithdraw(_agent)).Transactions);
    }

    [Fact]
    public async Task InitiateWithdraw_SignsAnotherTransaction_OnlyAfterTheRecordedOneWasDropped()
    {
        await OpenChannelAsync();
        var first = await Withdraw.InitiateWithdraw(Chain(nonce: "3"));
        await Withdraw.RecordWithdrawOutcome(new WithdrawOutcome(first.TxHash!, WithdrawTxStatus.Dropped, null, null, "nonce 3 used by another transaction"));

        var second = await Withdraw.InitiateWithdraw(Chain(nonce: "4"));

        Assert.True(second.Succeeded, second.Message);
        Assert.False(second.Resumed);
        Assert.NotEqual(first.TxHash, second.TxHash);
        var view = await Withdraw.GetWithdraw(_agent);
        Assert.Equal([WithdrawTxStatus.Dropped, WithdrawTxStatus.Signed], view.Transactions.Select(t => t.Status));
    }

    [Fact]
    public async Task InitiateWithdraw_SaysAlreadyDone_AfterTheInitiationIsMined()
    {
        await OpenChannelAsync();
        await InitiatedAndMinedAsync();

        var again = await Withdraw.InitiateWithdraw(Chain(pendingAt: InitiatedAt));

        Assert.False(again.Succeeded);
        Assert.Equal(WithdrawRefusal.AlreadyDone, again.Refusal);
        Assert.Equal(InitiatedAt + 900, again.FinalizableAt);
        Assert.Single((await Withdraw.GetWithdraw(_agent)).Transactions);
    }

    [Fact]
    public async Task PrepareRequest_SignsNoVoucher_WhileWithdrawing()
    {
        await OpenChannelAsync();
        await Withdraw.InitiateWithdraw(Chain());

        var payment = await Channel.PrepareRequest(Request());

        Assert.False(payment.Succeeded);
        Assert.Equal(ChannelRefusal.Closed, payment.Refusal);
        Assert.Contains("withdraw", payment.Message, StringComparison.Ordinal);
        Assert.Equal("1000", (await Channel.GetStatus()).HighestSignedAtomic);
    }

    [Fact]
    public async Task FinalizeWithdraw_IsRefusedWithTheTimeItBecomesPossible_BeforeTheDelayHasPassed()
    {
        await OpenChannelAsync();
        await InitiatedAndMinedAsync();

        var early = await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 899, pendingAt: InitiatedAt, nonce: "4"));
        var onTime = await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 900, pendingAt: InitiatedAt, nonce: "4"));

        Assert.Equal(WithdrawRefusal.TooEarly, early.Refusal);
        Assert.Equal(InitiatedAt + 900, early.FinalizableAt);
        Assert.Contains(DateTimeOffset.FromUnixTimeSeconds(InitiatedAt + 900).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), early.Message, StringComparison.Ordinal);
        Assert.True(onTime.Succeeded, onTime.Message);
        Assert.Equal(["initiate", "finalize"], (await Withdraw.GetWithdraw(_agent)).Transactions.Select(t => t.Step));
    }

    [Fact]
    public async Task RecordWithdrawOutcome_MarksTheChannelWithdrawn_WhenTheFinalizeIsMined()
    {
        await OpenChannelAsync();
        await InitiatedAndMinedAsync();
        var finalize = await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 900, pendingAt: InitiatedAt, nonce: "4"));

        var view = await Withdraw.RecordWithdrawOutcome(new WithdrawOutcome(finalize.TxHash!, WithdrawTxStatus.Mined, InitiatedAt + 901, "4000", null));

        Assert.Equal(ChannelPhase.Withdrawn, view.Phase);
        Assert.Equal("4000", view.ReturnedAtomic);
        Assert.Equal("1000", (await Channel.GetStatus()).BalanceAtomic);
        Assert.Equal(WithdrawRefusal.AlreadyDone, (await Withdraw.FinalizeWithdraw(Chain(now: InitiatedAt + 999, nonce: "5"))).Refusal);
    }

    [Fact]
    public async Task InitiateWithdraw_SignsForTheAgentsPoolChannel_WhenTheChannelIsNotItsFirst()
    {
        _poolIndex = 2;
        await OpenChannelAsync();

        var step = await Withdraw.InitiateWithdraw(Chain());

        Assert.True(step.Succeeded, step.Message);
        Assert.True((await Withdraw.GetWithdraw(_agent)).Owned);
    }

    [Fact]
    public async Task InitiateWithdraw_SignsNothing_WhenTheReportedFeeIsAboveTheSilosLimit()
    {
        await OpenChannelAsync();

        var step = await Withdraw.InitiateWithdraw(Chain() with { Fees = new WithdrawFees("3", "1000000", "500000000001", "100000") });

        Assert.False(step.Succeeded);
        Assert.Null(step.TxHash);
        Assert.Contains("X402__Payments__WithdrawMaxFeePerGas", step.Message, StringComparison.Ordinal);
        Assert.Empty((await StoredAsync()).Withdraw?.Transactions ?? []);
    }

    [Fact]
    public async Task GetWithdraw_ShowsNothing_ToAnotherAgent()
    {
        await OpenChannelAsync();
        await Withdraw.InitiateWithdraw(Chain());

        var view = await Withdraw.GetWithdraw(TestData.NewAgent());
        var step = await Withdraw.InitiateWithdraw(Chain() with { AgentId = TestData.NewAgent() });

        Assert.False(view.Owned);
        Assert.Empty(view.Transactions);
        Assert.Equal(WithdrawRefusal.NotFound, step.Refusal);
    }
}
