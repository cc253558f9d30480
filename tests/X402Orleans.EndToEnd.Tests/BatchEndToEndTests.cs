using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using X402Orleans.Payments;
using Xunit.Abstractions;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// <c>batch-settlement</c> sessions against the OFFICIAL batch-settlement server (<c>@x402/express</c> +
/// <c>@x402/evm/batch-settlement/server</c>, charging with <c>setSettlementOverrides</c>, claiming with its official channel manager)
/// and the OFFICIAL facilitator on anvil, with OUR batch-settlement contracts at the canonical addresses. Truth is the chain: the
/// channel's balance and totalClaimed read from the contract, token balances, block numbers and the facilitator's transaction count.
/// </summary>
[Collection(BatchStackCollection.Name)]
public sealed class BatchEndToEndTests(BatchStackFixture fixture, ITestOutputHelper output)
{
    private const int Decimals = 6;
    private const int VoucherCalls = 5;
    private static readonly TimeSpan ServerDoneWithin = TimeSpan.FromSeconds(20);

    private BatchStack Stack => fixture.Stack;

    [Fact]
    public async Task BatchSession_DepositsOnceAndPaysEachCallByVoucherWithoutATransaction_TheClaimMovesTheChargedTotal_AndTheEndRefundsTheRest()
    {
        var client = fixture.Client;
        var payer = fixture.Payer.Address;
        var (prefix, endpoint) = Stack.NewMeteredRoute();
        await Stack.SettleAsync(); // sweeps what earlier tests' refunds claimed, so the payee's delta below is this channel's alone
        var ledger = await Ledger.TakeAsync(Stack, payer, Stack.Payee, Stack.BatchSettlement);
        var budgetBefore = await WalletBudget.ReadAsync(client);
        var blockBefore = await Stack.Chain.BlockNumberAsync();
        var facilitatorTxsBefore = await Stack.Chain.TransactionCountAsync(Stack.FacilitatorAddress);

        // 1. The start deposits (the server's minDeposit hint, 10 × the price) and pays its first call from the deposit: one transaction.
        var start = (await client.StartAsync(endpoint)).Ok();
        var sessionId = start.Str("session_id");
        var first = start["payment"];
        var deposit = 10 * Stack.Maximum;
        Assert.Equal(("batch-settlement", Text(Stack.Charge), Text(Stack.Maximum), "0.1"), (first.Str("scheme"), first.Str("amount_atomic"), first.Str("maximum_atomic"), first.Str("deposit")));
        var depositTx = first.Str("transaction");
        Assert.Equal("0x1", (await Stack.Chain.ReceiptAsync(depositTx))!["status"]!.GetValue<string>());
        Assert.Equal(blockBefore + 1, await Stack.Chain.BlockNumberAsync());
        Assert.Equal(-deposit, await ledger.DeltaAsync(payer));
        Assert.Equal(deposit, await ledger.DeltaAsync(Stack.BatchSettlement));
        var channelId = Status(await client.StatusAsync(sessionId)).GetProperty("channel").Str("channel_id");
        Assert.Equal((deposit, BigInteger.Zero, BigInteger.Zero), await Stack.ChannelAsync(channelId));

        // 2. N calls, each paid by a voucher alone: no block, no transaction, the charge reported per call.
        var blockAfterDeposit = await Stack.Chain.BlockNumberAsync();
        var fetches = new List<JsonElement>();
        for (var i = 0; i < VoucherCalls; i++)
        {
            var fetch = (await client.FetchAsync(sessionId)).Ok();
            Assert.Equal(("paid", 200), (fetch.Str("access"), fetch.Structured.GetProperty("status").GetInt32()));
            fetches.Add(fetch["payment"]);
        }

        var calls = VoucherCalls + 1;
        var charged = calls * Stack.Charge;
        Assert.All(fetches, p => Assert.Equal(("batch-settlement", Text(Stack.Charge), string.Empty, JsonValueKind.Null), (p.Str("scheme"), p.Str("amount_atomic"), p.Str("transaction"), p.GetProperty("deposit").ValueKind)));
        Assert.Equal(deposit - charged, Units(fetches[^1].Str("channel_remaining")));
        Assert.Equal(blockAfterDeposit, await Stack.Chain.BlockNumberAsync());
        Assert.Equal(facilitatorTxsBefore + 1, await Stack.Chain.TransactionCountAsync(Stack.FacilitatorAddress));
        Assert.Equal(-deposit, await ledger.DeltaAsync(payer));
        Assert.Equal((deposit, BigInteger.Zero, BigInteger.Zero), await Stack.ChannelAsync(channelId));

        // The server saw one deposit and N vouchers, each ceiling = charged so far + the price, and holds our last voucher.
        var stats = await Stack.GetStatsAsync();
        var seen = stats.Payments(prefix);
        Assert.Equal(["deposit", .. Enumerable.Repeat("voucher", VoucherCalls)], seen.Select(p => p["kind"]!.GetValue<string>()));
        Assert.Equal(Enumerable.Range(0, calls).Select(i => (i * Stack.Charge) + Stack.Maximum), seen.Select(p => p.Atomic("ceiling")));
        var serverChannel = stats.Channel(channelId)!;
        Assert.Equal((charged, deposit), (serverChannel.Atomic("chargedCumulativeAmount"), serverChannel.Atomic("balance")));

        // status: the channel's deposit, charged total and remaining; budgets: exactly the charges are spent, the rest stays reserved
        var status = Status(await client.StatusAsync(sessionId));
        var channel = status.GetProperty("channel");
        Assert.Equal(("open", deposit, charged, deposit - charged, charged), (channel.Str("phase"), Units(channel.Str("deposit")), Units(channel.Str("charged")), Units(channel.Str("remaining")), Units(channel.Str("session_charged"))));
        Assert.Equal(Text(charged), Assert.Single(status.GetProperty("total_paid").EnumerateArray()).Str("amount_atomic"));
        var budget = await WalletBudget.ReadAsync(client);
        Assert.Equal((charged, charged, deposit - charged), (budget.Spent - budgetBefore.Spent, budget.WalletSpent - budgetBefore.WalletSpent, budget.Reserved - budgetBefore.Reserved));
        var log = await PaymentLogAsync(client, sessionId);
        Assert.Equal(Text(deposit), Assert.Single(log, a => a.Str("outcome") == "deposited").Str("amount_atomic"));
        Assert.Equal(Enumerable.Repeat(Text(Stack.Charge), calls), log.Where(a => a.Str("outcome") == "settled").Select(a => a.Str("amount_atomic")));

        // 3. The server claims (its official channel manager): totalClaimed = the charged total, the payee receives exactly that.
        var claim = await Stack.ClaimAsync();
        output.WriteLine($"claim: {claim.ToJsonString()}");
        Assert.Equal(1, Assert.Single(claim["claims"]!.AsArray())!["vouchers"]!.GetValue<int>());
        Assert.Equal((deposit, charged, BigInteger.Zero), await Stack.ChannelAsync(channelId));
        Assert.Equal(charged, await ledger.DeltaAsync(Stack.Payee));
        Assert.Equal(deposit - charged, await ledger.DeltaAsync(Stack.BatchSettlement));

        // 4. The end asks for the cooperative refund: the rest comes back to the payer, nothing stays in the channel.
        var ended = (await client.EndAsync(sessionId)).Ok();
        output.WriteLine($"end: {ended.Text}");
        Assert.Equal(Text(deposit - charged), ended["refund"].Str("amount_atomic"));
        Assert.Equal("refunded", ended["channel"].Str("phase"));
        Assert.Equal(-charged, await ledger.DeltaAsync(payer));
        Assert.Equal(charged, await ledger.DeltaAsync(Stack.Payee));
        Assert.Equal(BigInteger.Zero, await ledger.DeltaAsync(Stack.BatchSettlement));
        var (balance, totalClaimed, refundNonce) = await Stack.ChannelAsync(channelId);
        Assert.Equal((charged, charged, BigInteger.One), (balance, totalClaimed, refundNonce)); // claimed funds stay counted in the balance once settled out
        var refund = (await Stack.GetStatsAsync()).Payments(prefix)[^1];
        Assert.Equal(("refund", charged), (refund["kind"]!.GetValue<string>(), refund.Atomic("ceiling")));
        var budgetAfter = await WalletBudget.ReadAsync(client);
        Assert.Equal((charged, budgetBefore.Reserved), (budgetAfter.Spent - budgetBefore.Spent, budgetAfter.Reserved));
        Assert.Equal(Text(deposit - charged), Assert.Single(await PaymentLogAsync(client, sessionId), a => a.Str("outcome") == "refunded").Str("amount_atomic"));
        output.WriteLine($"deposit {deposit}, {calls} calls charged {charged} in total, refund {deposit - charged}; blocks {blockBefore} → {await Stack.Chain.BlockNumberAsync()}, facilitator txs {facilitatorTxsBefore} → {await Stack.Chain.TransactionCountAsync(Stack.FacilitatorAddress)}");
    }

    /// <summary>
    /// A paid call times out at the gateway (timeout_ms 1000) while the official server, answering after 2.5 s, charges it anyway: the
    /// channel does not know that charge. The next call's voucher is signed on the last known total; the server answers with its
    /// corrective 402 (<c>cumulative_amount_mismatch</c>, its charged total and our last voucher), the grain adopts it (the voucher
    /// recovers to our signer) and the call is paid once more on the server's total. Afterwards status, budgets and the refund agree
    /// with the server and the chain.
    /// </summary>
    [Fact]
    public async Task BatchFetch_AdoptsTheServersCorrective402AndPaysOnItsTotal_WhenAnEarlierCallTimedOutAfterTheServerCharged()
    {
        var payer = Stack.FundedWallets[1];
        var (prefix, endpoint) = Stack.NewMeteredRoute();
        var ledger = await Ledger.TakeAsync(Stack, payer.Address, Stack.Payee);
        await using var gateway = await EmbeddedGateway.StartAsync(Stack, payer, withRpc: true);
        await using var client = await gateway.ConnectAsync();
        var sessionId = (await client.StartAsync(endpoint)).Ok().Str("session_id");

        var lost = (await client.FetchAsync(sessionId, endpoint + "/slow?ms=2500", new() { ["timeout_ms"] = 1000 })).Error();
        output.WriteLine($"timed out: {lost}");
        Assert.Contains("no answer", lost, StringComparison.Ordinal);
        await Stack.WaitPaidRequestsDoneAsync(BatchStack.ServerName, prefix, 2, ServerDoneWithin);

        var paid = (await client.FetchAsync(sessionId)).Ok();

        var charged = 3 * Stack.Charge; // the start, the timed-out call (charged by the server) and this one
        Assert.Equal(("paid", Text(Stack.Charge)), (paid.Str("access"), paid["payment"].Str("amount_atomic")));
        var seen = (await Stack.GetStatsAsync()).Payments(prefix);
        Assert.Equal(
            [("deposit", Stack.Maximum, 200), ("voucher", Stack.Charge + Stack.Maximum, 200), ("voucher", Stack.Charge + Stack.Maximum, 402), ("voucher", (2 * Stack.Charge) + Stack.Maximum, 200)],
            seen.Select(p => (p["kind"]!.GetValue<string>(), p.Atomic("ceiling"), p["status"]!.GetValue<int>())));
        Assert.Contains("cumulative_amount_mismatch", seen[2]["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var status = Status(await client.StatusAsync(sessionId));
        var channel = status.GetProperty("channel");
        var serverChannel = (await Stack.GetStatsAsync()).Channel(channel.Str("channel_id"))!;
        Assert.Equal((charged, charged, charged), (serverChannel.Atomic("chargedCumulativeAmount"), Units(channel.Str("charged")), Units(channel.Str("session_charged"))));
        Assert.Equal(Text(charged), Assert.Single(status.GetProperty("total_paid").EnumerateArray()).Str("amount_atomic")); // the timed-out call's charge included
        var budget = await WalletBudget.ReadAsync(client);
        Assert.Equal(charged, budget.Spent);
        var log = await PaymentLogAsync(client, sessionId);
        Assert.Equal(["deposited", "settled", "unknown", "settled", "settled"], log.Select(a => a.Str("outcome")));

        var ended = (await client.EndAsync(sessionId)).Ok();
        Assert.Equal(Text((10 * Stack.Maximum) - charged), ended["refund"].Str("amount_atomic"));
        Assert.Equal(-charged, await ledger.DeltaAsync(payer.Address));
        output.WriteLine($"charged {charged} (server, channel, session, budget), refund {(10 * Stack.Maximum) - charged}");
    }

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>An amount in the asset's units (6 decimals) as atomic units.</summary>
    private static BigInteger Units(string text) =>
        AtomicAmount.TryParseDecimal(text, Decimals, out var value, out var why) ? value : throw new FormatException($"'{text}': {why}");

    private static JsonElement Status(X402Orleans.Testing.ToolOutcome status) => status.Ok()["sessions"].EnumerateArray().Single();

    /// <summary>The session's entries of x402_payment_log, oldest first.</summary>
    private static async Task<List<JsonElement>> PaymentLogAsync(McpClient client, string sessionId) =>
        [.. (await client.CallAsync("x402_payment_log", new Dictionary<string, object?> { ["limit"] = 100 })).Ok()["attempts"].EnumerateArray().Where(a => a.Str("session_id") == sessionId).Reverse()];
}
