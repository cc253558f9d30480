using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using X402Orleans.Abstractions;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using X402Orleans.Payments;
using Xunit.Abstractions;
using static X402Orleans.EndToEnd.Tests.Infrastructure.CrashRun;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// Crash recovery of a batch-settlement channel against the OFFICIAL batch-settlement server on anvil: our host runs as a child
/// process (Local mode, SQLite file) armed with <c>X402_FAULT_CRASH_AT</c>, starts a session (the deposit), and dies like
/// <c>kill -9</c> during its first voucher call (on <c>metered/quick</c>, maxTimeoutSeconds 1, so the channel's lease on the lost
/// request ends 16 s after it was signed); restarted on the same file it pays further calls. Truth: what the server saw (every
/// voucher's ceiling, its channel record) and the chain (one deposit, the refund).
/// </summary>
[Collection(BatchStackCollection.Name)]
public sealed class BatchFaultInjectionTests(BatchStackFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan ServerDoneWithin = TimeSpan.FromSeconds(20);

    /// <summary>
    /// One channel per agent and payee (<c>X402__Payments__ChannelPoolSize</c> = 1): what these tests follow is one channel's numbers
    /// across a crash, so the restarted host must wait for the lost request's lease on that channel, not open another one beside it.
    /// </summary>
    private static readonly Dictionary<string, string> OneChannel = new() { ["X402__Payments__ChannelPoolSize"] = "1" };

    /// <summary>How long the restarted host may answer "channel busy" (the lost request's lease: 1 s + 15 s after signing).</summary>
    private static readonly TimeSpan LeaseEndsWithin = TimeSpan.FromSeconds(40);

    private BatchStack Stack => fixture.Stack;

    /// <summary>
    /// Killed after the voucher was stored and signed but before it was sent (<c>payment.signed</c>), after it was sent
    /// (<c>payment.sent</c>: the server charges it after the host is gone) or after the answer was read but not recorded
    /// (<c>payment.answered</c>). After the restart: no second deposit; every ceiling the server ever saw is at most the highest the
    /// host recorded; the first voucher after the restart is signed on the recorded charged total (and, when the server had charged
    /// the lost call, its corrective 402 is adopted and the call paid on the server's total); the host's channel total and spend
    /// equal the server's charged total, and the refund returns exactly the rest on chain.
    /// </summary>
    [Theory]
    [InlineData(FaultPoints.PaymentSigned, 2)]
    [InlineData(FaultPoints.PaymentSent, 3)]
    [InlineData(FaultPoints.PaymentAnswered, 4)]
    public async Task BatchFetch_NeverSignsAboveTheRecordedCeilingAndAgreesWithTheServer_WhenTheHostIsKilledDuringAVoucherCall(string point, int wallet)
    {
        var payer = Stack.FundedWallets[wallet];
        var (prefix, endpoint) = Stack.NewMeteredRoute();
        var quick = endpoint + "/quick";
        var ledger = await Ledger.TakeAsync(Stack, payer.Address, Stack.Payee);
        var run = await CrashAfterStartAsync(payer, endpoint, point, 2, (client, sessionId) => client.FetchAsync(sessionId, quick));
        try
        {
            var sessionId = run.SessionId;
            var lostReachedServer = point != FaultPoints.PaymentSigned;
            await Stack.WaitPaidRequestsDoneAsync(BatchStack.ServerName, prefix, lostReachedServer ? 2 : 1, ServerDoneWithin);

            await using var restarted = await RestartAsync(payer, run);
            await using var client = await restarted.ConnectAsync();
            var first = await FetchOnceFreeAsync(client, sessionId, quick);
            var second = (await client.FetchAsync(sessionId, quick)).Ok();
            var status = (await client.StatusAsync(sessionId)).Ok()["sessions"].EnumerateArray().Single();
            var channel = status.GetProperty("channel");
            var stats = await Stack.GetStatsAsync();
            var seen = stats.Payments(prefix);
            var server = stats.Channel(channel.Str("channel_id"))!;
            var budget = await WalletBudget.ReadAsync(client);
            output.WriteLine($"server saw: {string.Join(", ", seen.Select(p => $"{p["kind"]} {p["ceiling"]} → {p["status"]}{(p["error"] is JsonValue e ? $" ({e})" : string.Empty)}"))}");
            output.WriteLine($"server channel: charged {server["chargedCumulativeAmount"]}, signed {server["signedMaxClaimable"]}; host: charged {channel.Str("charged")}, highest signed {channel.Str("highest_signed")}, spent_today {budget.Spent}, reserved_today {budget.Reserved}; calls after restart: {first["payment"].Str("amount_atomic")} + {second["payment"].Str("amount_atomic")}");

            // exactly one deposit, on chain and at the server
            Assert.Single(seen, p => p["kind"]!.GetValue<string>() == "deposit");
            Assert.Equal(-10 * Stack.Maximum, await ledger.DeltaAsync(payer.Address));

            // no voucher above the recorded ceiling: everything the server ever saw is within the highest ceiling the host stored
            var highestSigned = Units(channel.Str("highest_signed"));
            Assert.All(seen, p => Assert.True(p.Atomic("ceiling") <= highestSigned, $"the server saw a voucher of {p["ceiling"]} above the recorded highest {highestSigned}"));

            // after the restart the first voucher is the recorded one again (ceiling = recorded charged + price); had the server charged
            // the lost call, it answered that with its corrective 402, which was adopted: the call was paid on the server's total
            var charge = Stack.Charge;
            var chargedByServer = (lostReachedServer ? 4 : 3) * charge;
            var afterRestart = seen.Skip(lostReachedServer ? 2 : 1).ToList();
            var expected = lostReachedServer
                ? new[] { (charge + Stack.Maximum, 402), ((2 * charge) + Stack.Maximum, 200), ((3 * charge) + Stack.Maximum, 200) }
                : [(charge + Stack.Maximum, 200), ((2 * charge) + Stack.Maximum, 200)];
            Assert.Equal(expected, afterRestart.Select(p => (p.Atomic("ceiling"), p["status"]!.GetValue<int>())));

            // the host's totals are the server's
            Assert.Equal(chargedByServer, server.Atomic("chargedCumulativeAmount"));
            Assert.Equal(chargedByServer, Units(channel.Str("charged")));
            Assert.Equal(chargedByServer, Units(channel.Str("session_charged")));
            Assert.Equal(chargedByServer.ToString(CultureInfo.InvariantCulture), status.GetProperty("total_paid").EnumerateArray().Single().Str("amount_atomic"));
            Assert.Equal(chargedByServer, budget.Spent);

            // the refund returns exactly the rest on chain
            var ended = (await client.EndAsync(sessionId)).Ok();
            Assert.Equal(((10 * Stack.Maximum) - chargedByServer).ToString(CultureInfo.InvariantCulture), ended["refund"].Str("amount_atomic"));
            Assert.Equal(-chargedByServer, await ledger.DeltaAsync(payer.Address));
            await restarted.StopAsync();
        }
        finally
        {
            TryDelete(run.Folder);
        }
    }

    /// <summary>
    /// Killed after the refund voucher was sent (<c>payment.sent</c> during <c>x402_session_end</c>): the official server makes the
    /// refund on chain after the host is gone. Restarted, the host does not know it: a second end finds the channel busy with the
    /// lost refund (the refund stays due); once its lease ran out, the next end asks the chain, which shows nothing left — the
    /// channel is refunded, the deposit's reserved rest released, no second refund is sent — and a new session on the same payee
    /// deposits again instead of signing vouchers on a channel the server has forgotten.
    /// </summary>
    [Fact]
    public async Task BatchEnd_LearnsFromTheChainThatTheRefundWasMade_WhenTheHostIsKilledAfterSendingIt()
    {
        var payer = Stack.FundedWallets[5];
        var (prefix, endpoint) = Stack.NewMeteredRoute();
        var ledger = await Ledger.TakeAsync(Stack, payer.Address, Stack.Payee);
        var run = await CrashAfterStartAsync(payer, endpoint, FaultPoints.PaymentSent, 3, async (client, sessionId) =>
        {
            (await client.FetchAsync(sessionId)).Ok();
            return await client.EndAsync(sessionId);
        });
        try
        {
            var sessionId = run.SessionId;
            await Stack.WaitPaidRequestsDoneAsync(BatchStack.ServerName, prefix, 3, ServerDoneWithin);
            var charged = 2 * Stack.Charge;
            Assert.Equal(-charged, await ledger.DeltaAsync(payer.Address)); // the server refunded the rest after the host died

            await using var restarted = await RestartAsync(payer, run);
            await using var client = await restarted.ConnectAsync();
            var waiting = (await client.EndAsync(sessionId)).Ok();
            output.WriteLine($"end after the restart: {waiting["channel"].Str("note")}");
            Assert.StartsWith("refund waits", waiting["channel"].Str("note"), StringComparison.Ordinal);

            var deadline = DateTime.UtcNow + LeaseEndsWithin;
            X402Orleans.Testing.ToolOutcome ended;
            do
            {
                await Task.Delay(1000);
                ended = (await client.EndAsync(sessionId)).Ok();
            }
            while (ended["channel"].Str("note").StartsWith("refund waits", StringComparison.Ordinal) && DateTime.UtcNow < deadline);

            output.WriteLine($"end after the lease: {ended["channel"].Str("note")}");
            Assert.Equal(("refunded", JsonValueKind.Null), (ended["channel"].Str("phase"), ended["refund"].ValueKind));
            Assert.Contains("refunded", ended["channel"].Str("note"), StringComparison.Ordinal);
            var budget = await WalletBudget.ReadAsync(client);
            Assert.Equal((charged, BigInteger.Zero), (budget.Spent, budget.Reserved));
            Assert.Single((await Stack.GetStatsAsync()).Payments(prefix), p => p["kind"]!.GetValue<string>() == "refund");
            Assert.Equal(-charged, await ledger.DeltaAsync(payer.Address));

            // the channel is usable again: a new session deposits anew and pays
            var again = (await client.StartAsync(endpoint)).Ok();
            Assert.Equal(("0.1", Stack.Charge.ToString(CultureInfo.InvariantCulture)), (again["payment"].Str("deposit"), again["payment"].Str("amount_atomic")));
            var refunded = (await client.EndAsync(again.Str("session_id"))).Ok();
            Assert.Equal(((10 * Stack.Maximum) - Stack.Charge).ToString(CultureInfo.InvariantCulture), refunded["refund"].Str("amount_atomic"));
            Assert.Equal(-charged - Stack.Charge, await ledger.DeltaAsync(payer.Address));
            await restarted.StopAsync();
        }
        finally
        {
            TryDelete(run.Folder);
        }
    }

    /// <summary>
    /// On a new SQLite state file, a child host paying with <paramref name="payer"/> and armed to die at the <paramref name="hit"/>-th
    /// <paramref name="point"/> starts a session on <paramref name="endpoint"/> (its deposit is hit 1) and runs
    /// <paramref name="then"/> until it dies there.
    /// </summary>
    private async Task<CrashedRun> CrashAfterStartAsync(Wallet payer, string endpoint, string point, int hit, Func<McpClient, string, Task<X402Orleans.Testing.ToolOutcome>> then)
    {
        var run = new CrashedRun(Directory.CreateTempSubdirectory("x402-batch-fault-").FullName);
        try
        {
            await using var armed = await ChildHost.StartAsync(Stack, payer, run.StateFile, run.Logs, "armed", $"{point}#{hit}", withRpc: true, OneChannel);
            await CrashDuringAsync(armed, point, async client =>
            {
                run.SessionId = (await client.StartAsync(endpoint)).Ok().Str("session_id");
                return await then(client, run.SessionId);
            }, output);
            return run;
        }
        catch
        {
            TryDelete(run.Folder);
            throw;
        }
    }

    /// <summary>The host started again on the crashed run's state file, unarmed.</summary>
    private Task<ChildHost> RestartAsync(Wallet payer, CrashedRun run) => ChildHost.StartAsync(Stack, payer, run.StateFile, run.Logs, "restarted", null, withRpc: true, OneChannel);

    /// <summary>Fetches until the channel is no longer busy with the lost request (its lease), bounded; asserts the call was paid.</summary>
    private static async Task<X402Orleans.Testing.ToolOutcome> FetchOnceFreeAsync(McpClient client, string sessionId, string url)
    {
        var deadline = DateTime.UtcNow + LeaseEndsWithin;
        while (true)
        {
            var outcome = await client.FetchAsync(sessionId, url);
            if (!outcome.IsError || !outcome.Text.Contains("busy", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return outcome.Ok();
            }

            await Task.Delay(500);
        }
    }

    private static BigInteger Units(string text) =>
        AtomicAmount.TryParseDecimal(text, 6, out var value, out var why) ? value : throw new FormatException($"'{text}': {why}");

    /// <summary>A crashed host's state (a temp folder: the SQLite file and the logs) and the session it had started.</summary>
    private sealed class CrashedRun(string folder)
    {
        public string Folder { get; } = folder;

        public string StateFile => Path.Combine(Folder, "x402.db");

        public string Logs => Path.Combine(Folder, "logs");

        public string SessionId { get; set; } = string.Empty;
    }
}
