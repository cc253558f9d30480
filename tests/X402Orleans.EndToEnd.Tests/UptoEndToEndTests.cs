using System.Globalization;
using System.Numerics;
using ModelContextProtocol.Client;
using X402Orleans.Abstractions;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;
using static X402Orleans.EndToEnd.Tests.Infrastructure.CrashRun;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// <c>upto</c> sessions against the OFFICIAL upto server (<c>@x402/express</c> + <c>@x402/evm/upto/server</c>, the handler choosing
/// the charge with <c>setSettlementOverrides</c>) and the OFFICIAL upto facilitator on anvil (Permit2 and our upto proxy at their
/// canonical addresses). Truth is the chain: token balances, the settlement's Transfer events, Permit2 allowances.
/// </summary>
[Collection(UptoStackCollection.Name)]
public sealed class UptoEndToEndTests(UptoStackFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan ServerDoneWithin = TimeSpan.FromSeconds(20);

    private UptoStack Stack => fixture.Stack;

    [Fact]
    public async Task UptoStart_MovesExactlyTheChargeOnChain_AndCountsOnlyTheChargeAsSpent()
    {
        var ns = StackFixture.NewNamespace();
        var endpoint = Stack.Server + $"/api/{ns}/metered";
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.Payee);
        var budgetBefore = await BudgetAsync(fixture.Client);

        var start = (await fixture.Client.StartAsync(endpoint)).Ok();

        var payment = start["payment"];
        Assert.Equal("upto", payment.GetProperty("scheme").GetString());
        Assert.Equal(Text(Stack.Charge), payment.GetProperty("amount_atomic").GetString());
        Assert.Equal("0.012345", payment.GetProperty("amount").GetString());
        Assert.Equal(Text(Stack.Maximum), payment.GetProperty("maximum_atomic").GetString());
        Assert.Equal("0.05", payment.GetProperty("maximum").GetString());
        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        var transaction = payment.GetProperty("transaction").GetString()!;
        var transfer = Assert.Single(await Stack.Chain.TransfersAsync(transaction, Stack.Token));
        Assert.Equal(fixture.Payer.Address, transfer.From, ignoreCase: true);
        Assert.Equal(Stack.Payee, transfer.To, ignoreCase: true);
        Assert.Equal(Stack.Charge, transfer.Value);
        Assert.Equal(-Stack.Charge, await ledger.DeltaAsync(fixture.Payer.Address));
        Assert.Equal(Stack.Charge, await ledger.DeltaAsync(Stack.Payee));

        // the server settled what its handler reported, once
        var settlement = Assert.Single((await Stack.GetStatsAsync()).Settlements(UptoStack.ServerName, $"/api/{ns}/"));
        Assert.Equal(transaction, settlement["transaction"]!.GetValue<string>());
        Assert.Equal(Text(Stack.Charge), settlement["amount"]!.GetValue<string>());

        // budgets: the charge is spent, nothing of the maximum stays reserved
        var budget = await BudgetAsync(fixture.Client);
        Assert.Equal(Stack.Charge, budget.Spent - budgetBefore.Spent);
        Assert.Equal(Stack.Charge, budget.WalletSpent - budgetBefore.WalletSpent);
        Assert.Equal(budgetBefore.Reserved, budget.Reserved);
        var session = Assert.Single((await fixture.Client.StatusAsync(start.Str("session_id"))).Ok()["sessions"].EnumerateArray());
        Assert.Equal(Text(Stack.Charge), Assert.Single(session.GetProperty("total_paid").EnumerateArray()).GetProperty("amount_atomic").GetString());
        var attempt = (await fixture.Client.CallAsync("x402_payment_log", new Dictionary<string, object?> { ["limit"] = 1 })).Ok()["attempts"].EnumerateArray().Single();
        Assert.Equal(("settled", Text(Stack.Charge), Text(Stack.Maximum), transaction), (attempt.GetProperty("outcome").GetString(), attempt.GetProperty("amount_atomic").GetString(), attempt.GetProperty("maximum_atomic").GetString(), attempt.GetProperty("transaction").GetString()));
    }

    [Fact]
    public async Task UptoStart_ChargedZero_SendsNoTransaction_AndKeepsTheMaximumReservedUntilThePermitsDeadline()
    {
        var ns = StackFixture.NewNamespace();
        var endpoint = Stack.Server + $"/api/{ns}/idle";
        var ledger = await Ledger.TakeAsync(Stack, fixture.Payer.Address, Stack.Payee);
        var budgetBefore = await BudgetAsync(fixture.Client);
        var signedNotBefore = DateTimeOffset.UtcNow;

        var start = (await fixture.Client.StartAsync(endpoint)).Ok();

        var payment = start["payment"];
        Assert.Equal(("upto", "0", Text(Stack.Maximum), string.Empty), (payment.GetProperty("scheme").GetString(), payment.GetProperty("amount_atomic").GetString(), payment.GetProperty("maximum_atomic").GetString(), payment.GetProperty("transaction").GetString()));
        Assert.Equal(200, start["response"].GetProperty("status").GetInt32());
        await ledger.AssertUnchangedAsync();
        var settlement = Assert.Single((await Stack.GetStatsAsync()).Settlements(UptoStack.ServerName, $"/api/{ns}/"));
        Assert.Equal(("0", string.Empty), (settlement["amount"]!.GetValue<string>(), settlement["transaction"]!.GetValue<string>()));

        // the signed permit could still be settled for up to its maximum: that stays reserved, nothing is spent
        var held = await BudgetAsync(fixture.Client);
        Assert.Equal(Stack.Maximum, held.Reserved - budgetBefore.Reserved);
        Assert.Equal(budgetBefore.Spent, held.Spent);

        // ... until the permit's deadline (signing time + the route's maxTimeoutSeconds), then it is released
        var deadline = signedNotBefore + Stack.IdleTimeout;
        var limit = DateTimeOffset.UtcNow + Stack.IdleTimeout + TimeSpan.FromSeconds(20);
        WalletBudget now;
        while (true)
        {
            now = await BudgetAsync(fixture.Client);
            if (now.Reserved == budgetBefore.Reserved)
            {
                break;
            }

            Assert.True(DateTimeOffset.UtcNow < limit, $"the maximum was still reserved {(DateTimeOffset.UtcNow - deadline).TotalSeconds:0} s after the permit's deadline");
            await Task.Delay(500);
        }

        Assert.True(DateTimeOffset.UtcNow >= deadline, $"the maximum was released {(deadline - DateTimeOffset.UtcNow).TotalSeconds:0.0} s before the permit's deadline");
        Assert.Equal(budgetBefore.Spent, now.Spent);
        await ledger.AssertUnchangedAsync();
    }

    [Fact]
    public async Task UptoStart_PaysWithAnEip2612Permit_WhenThePayerHasNoPermit2AllowanceAndTheServerSponsorsIt()
    {
        var payer = Stack.UnapprovedWallets[0];
        var ns = StackFixture.NewNamespace();
        var ledger = await Ledger.TakeAsync(Stack, payer.Address, Stack.Payee);
        await using var gateway = await EmbeddedGateway.StartAsync(Stack, payer, withRpc: true);
        await using var client = await gateway.ConnectAsync();

        var start = (await client.StartAsync(Stack.Server + $"/api/{ns}/sponsored")).Ok();

        var payment = start["payment"];
        Assert.Equal(Text(Stack.Charge), payment.GetProperty("amount_atomic").GetString());
        var transfer = Assert.Single(await Stack.Chain.TransfersAsync(payment.GetProperty("transaction").GetString()!, Stack.Token));
        Assert.Equal((payer.Address.ToLowerInvariant(), Stack.Payee.ToLowerInvariant(), Stack.Charge), (transfer.From.ToLowerInvariant(), transfer.To.ToLowerInvariant(), transfer.Value));
        Assert.Equal(-Stack.Charge, await ledger.DeltaAsync(payer.Address));
        Assert.Equal(Stack.Charge, await ledger.DeltaAsync(Stack.Payee));

        // the facilitator submitted the EIP-2612 permit (for the maximum, not unlimited) and paid the gas
        Assert.Equal(Stack.Maximum - Stack.Charge, await Stack.Chain.AllowanceAsync(Stack.Token, payer.Address, Stack.Permit2));
        Assert.Equal(BigInteger.Zero, await Stack.Chain.EthBalanceAsync(payer.Address));
    }

    /// <summary>
    /// With a node (<paramref name="withRpc"/>) the silo reads the allowance and signs nothing; without, the official server answers
    /// 412 <c>permit2_allowance_required</c>. Either way the agent learns which one-time approval is missing and nothing moves.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UptoStart_IsErrorNamingTheOneTimeApproval_WhenThePayerHasNoPermit2AllowanceAndNoSponsoring(bool withRpc)
    {
        var payer = Stack.UnapprovedWallets[1];
        var ns = StackFixture.NewNamespace();
        var ledger = await Ledger.TakeAsync(Stack, payer.Address, Stack.Payee);
        await using var gateway = await EmbeddedGateway.StartAsync(Stack, payer, withRpc: withRpc);
        await using var client = await gateway.ConnectAsync();

        var error = (await client.StartAsync(Stack.Server + $"/api/{ns}/metered")).Error();

        output.WriteLine(error);
        Assert.Contains($"approve Permit2 {Stack.Permit2}", error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(payer.Address, error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(withRpc ? 0 : 1, (await Stack.GetStatsAsync()).PaidRequests(UptoStack.ServerName, $"/api/{ns}/").Count);
        await ledger.AssertUnchangedAsync();
        var budget = await BudgetAsync(client);
        Assert.Equal((BigInteger.Zero, BigInteger.Zero), (budget.Spent, budget.Reserved));
    }

    /// <summary>
    /// A paid upto start is killed (SIGKILL) right after the request carrying the permit was sent; the official server still settles
    /// the charge. The restarted host retries the start with the same idempotency key (the same signed permit): one settlement on
    /// chain, and what the host reports (the start, the session, the day's spend) equals the chain's movement.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UptoStart_SettlesOnceAndAgreesWithTheChain_WhenTheHostIsKilledAfterSendingThePermit(bool withRpc)
    {
        var payer = Stack.FundedWallets[withRpc ? 1 : 2];
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.Server + prefix + "metered";
        var key = $"upto-crash-{ns}";
        var arguments = new Dictionary<string, object?> { ["idempotency_key"] = key, ["label"] = key };
        var folder = Directory.CreateTempSubdirectory("x402-upto-fault-").FullName;
        var stateFile = Path.Combine(folder, "x402.db");
        var logs = Path.Combine(folder, "logs");
        try
        {
            var ledger = await Ledger.TakeAsync(Stack, payer.Address, Stack.Payee);
            await using (var armed = await ChildHost.StartAsync(Stack, payer, stateFile, logs, "armed", FaultPoints.PaymentSent, withRpc))
            {
                await CrashDuringAsync(armed, FaultPoints.PaymentSent, client => client.StartAsync(endpoint, arguments), output);
            }

            await Stack.WaitPaidRequestsDoneAsync(UptoStack.ServerName, prefix, 1, ServerDoneWithin);
            Assert.Equal(Stack.Charge, await ledger.DeltaAsync(Stack.Payee)); // settled after its client died

            await using var restarted = await ChildHost.StartAsync(Stack, payer, stateFile, logs, "restarted", null, withRpc);
            await using var client = await restarted.ConnectAsync();
            var retry = await RetryStartAsync(client, endpoint, arguments, ResolvedWithin);
            var again = await RetryStartAsync(client, endpoint, arguments, TimeSpan.Zero);
            await Stack.WaitPaidRequestsDoneAsync(UptoStack.ServerName, prefix, 0, ServerDoneWithin);

            var session = await FindSessionAsync(client, retry.SessionId, key);
            var delta = await ledger.DeltaAsync(Stack.Payee);
            var budget = await BudgetAsync(client);
            output.WriteLine($"retry: {retry.Describe(Stack.Charge)}");
            output.WriteLine($"again: {again.Describe(Stack.Charge)}");
            output.WriteLine($"session: {session?.Describe(Stack.Charge) ?? "none listed"}");
            output.WriteLine($"chain: payee +{Amount(delta)}; host: spent_today {Amount(budget.Spent)}, reserved_today {Amount(budget.Reserved)}");

            var problems = new List<string>();
            var settled = (await Stack.GetStatsAsync()).Settlements(UptoStack.ServerName, prefix).Count(s => s["success"]?.GetValue<bool>() == true && s["transaction"]?.GetValue<string>() is { Length: > 0 });
            if (delta != Stack.Charge || settled != 1)
            {
                problems.Add($"expected exactly one settlement of {Amount(Stack.Charge)}; the payee received {Amount(delta)} in {settled} settlements");
            }

            if (-await ledger.DeltaAsync(payer.Address) != delta)
            {
                problems.Add($"payee +{Amount(delta)} but payer {Amount(await ledger.DeltaAsync(payer.Address))}");
            }

            problems.AddRange(Disagreements(retry, session, delta, Stack.Charge));
            if (!retry.SameAnswerAs(again))
            {
                problems.Add($"a second retry with the same idempotency_key answered differently: {retry.Describe(Stack.Charge)} / {again.Describe(Stack.Charge)}");
            }

            // With a node the charge is read from the settling transfer; without, only the maximum is known to bound it.
            var counted = budget.Spent + budget.Reserved;
            if (withRpc ? counted != delta : counted < delta || counted > Stack.Maximum)
            {
                problems.Add($"the host counts spent_today {Amount(budget.Spent)} + reserved_today {Amount(budget.Reserved)} but the chain moved {Amount(delta)}{(withRpc ? string.Empty : $" (without a node: between that and the maximum {Amount(Stack.Maximum)})")}");
            }

            Assert.True(problems.Count == 0, $"upto crash at payment.sent ({(withRpc ? "with" : "without")} a node):\n- " + string.Join("\n- ", problems) + $"\n--- restarted host log ---\n{restarted.Process.Tail(40)}");
            await restarted.StopAsync();
        }
        finally
        {
            TryDelete(folder);
        }
    }

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    private static Task<WalletBudget> BudgetAsync(McpClient client) => WalletBudget.ReadAsync(client);
}
