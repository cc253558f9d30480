using System.Globalization;
using System.Numerics;
using System.Text.Json;
using ModelContextProtocol.Client;
using X402Orleans.Abstractions;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using static X402Orleans.EndToEnd.Tests.Infrastructure.CrashRun;
using Xunit.Abstractions;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// Crash recovery of paid calls on the official stack: our host runs as a child process (Local mode, SQLite state file) armed with
/// <c>X402_FAULT_CRASH_AT</c>, dies like <c>kill -9</c> at one step of a paid <c>x402_session_start</c> (or of a paid
/// <c>x402_session_fetch</c>), and is started again on the same file without the variable. Truth is the chain: the payee's balance
/// delta divided by the route's price is the number of settlements. Every case must settle at most once per idempotency key, and
/// what the host then says must agree with the chain.
/// <para>
/// How a retry's answer is read: a success reports its payment (and <c>x402_session_status</c> the session's <c>total_paid</c>),
/// which must equal the chain's delta. An isError is read from its text: one saying the payment's outcome is unknown ("unknown",
/// "may or may not have settled", "may have settled") allows at most one price on chain; one saying the start is still in progress
/// is retried (bounded) until it says something else; any other isError tells the agent nothing was paid, so the chain must not
/// have moved.
/// </para>
/// </summary>
[Collection(StackCollection.Name)]
public sealed class FaultInjectionTests(StackFixture fixture, ITestOutputHelper output)
{
    private const string Route = "quote";
    private static readonly TimeSpan ServerDoneWithin = TimeSpan.FromSeconds(20);

    private X402Stack Stack => fixture.Stack;

    /// <summary>A wallet of its own (the shared embedded host pays with the first).</summary>
    private Wallet Payer => Stack.FundedWallets[1];

    /// <summary>
    /// A paid start on a pay-per-call route (no sign-in-with-x, so a start that runs twice pays twice) is killed at
    /// <paramref name="point"/>, then retried twice with the same idempotency key on the restarted host.
    /// </summary>
    [Theory]
    [InlineData(FaultPoints.StartOpened, false)]
    [InlineData(FaultPoints.PaymentSigned, false)]
    [InlineData(FaultPoints.PaymentSent, false)]
    [InlineData(FaultPoints.PaymentAnswered, false)]
    [InlineData(FaultPoints.StartBeforeActivate, false)]
    [InlineData(FaultPoints.PaymentSigned, true)]
    [InlineData(FaultPoints.PaymentSent, true)]
    [InlineData(FaultPoints.PaymentAnswered, true)]
    public async Task SessionStart_SettlesAtMostOnceAndAgreesWithTheChain_WhenTheHostIsKilledAtAStep(string point, bool withRpc)
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.MainServer + prefix + Route;
        var price = Stack.Price(Route);
        var payTo = Stack.PayTo("main");
        var key = $"fault-{point}-{ns}";
        var arguments = new Dictionary<string, object?> { ["idempotency_key"] = key, ["label"] = key };
        var folder = Directory.CreateTempSubdirectory("x402-fault-").FullName;
        var stateFile = Path.Combine(folder, "x402.db");
        var logs = Path.Combine(folder, "logs");
        var name = withRpc ? $"{point} (rpc)" : point;
        try
        {
            var ledger = await Ledger.TakeAsync(Stack, payTo, Payer.Address);

            // 1. The armed host dies during the start.
            await using (var armed = await ChildHost.StartAsync(Stack, Payer, stateFile, logs, "armed", point, withRpc))
            {
                await CrashDuringAsync(armed, point, client => client.StartAsync(endpoint, arguments), output);
            }

            // A paid request the dead host had sent is settled (or refused) by the server after its client is gone: wait for that.
            await Stack.WaitPaidRequestsDoneAsync("main", prefix, PaidRequestsBefore(point), ServerDoneWithin);

            // 2. Restarted on the same file, unarmed: the same start again, twice.
            await using var restarted = await ChildHost.StartAsync(Stack, Payer, stateFile, logs, "restarted", null, withRpc);
            await using var client = await restarted.ConnectAsync();
            var retry = await RetryStartAsync(client, endpoint, arguments, ResolvedWithin);
            await Stack.WaitPaidRequestsDoneAsync("main", prefix, 0, ServerDoneWithin);
            var deltaAfterRetry = await ledger.DeltaAsync(payTo);
            var again = await RetryStartAsync(client, endpoint, arguments, TimeSpan.Zero);
            await Stack.WaitPaidRequestsDoneAsync("main", prefix, 0, ServerDoneWithin);

            // 3. What the session says now.
            var session = await FindSessionAsync(client, retry.SessionId, key);
            var delta = await ledger.DeltaAsync(payTo);
            var settlements = delta / price;
            var outcome = retry.IsError ? $"isError ({retry.Kind}): {Clip(retry.Text)}" : session?.Status ?? "no session";
            output.WriteLine($"crash at {name}: settlements on chain = {Amount(settlements)}, outcome = {outcome}");
            output.WriteLine($"  retry: {retry.Describe(price)}");
            output.WriteLine($"  again: {again.Describe(price)}");
            output.WriteLine($"  session: {session?.Describe(price) ?? "none listed"}");

            var problems = new List<string>();
            if (delta % price != 0 || settlements < 0 || settlements > 1)
            {
                problems.Add($"the payee received {Amount(delta)} atomic units = {Amount(settlements)} × price ({Amount(price)}): at most one settlement per idempotency key");
            }

            if (delta != -await ledger.DeltaAsync(Payer.Address))
            {
                problems.Add($"payee +{Amount(delta)} but payer {Amount(await ledger.DeltaAsync(Payer.Address))}");
            }

            if (delta != deltaAfterRetry)
            {
                problems.Add($"the second retry moved the chain by {Amount(delta - deltaAfterRetry)} more");
            }

            problems.AddRange(Disagreements(retry, session, delta, price));
            if (!retry.SameAnswerAs(again))
            {
                problems.Add($"a second retry with the same idempotency_key answered differently: first {retry.Describe(price)}; second {again.Describe(price)}");
            }

            Assert.True(problems.Count == 0, $"crash at {name}:\n- " + string.Join("\n- ", problems) + $"\n--- restarted host log ---\n{restarted.Process.Tail(40)}");
            await restarted.StopAsync();
        }
        finally
        {
            TryDelete(folder);
        }
    }

    /// <summary>
    /// A session on a pay-per-call route is started (paid: the first hit of <paramref name="point"/>), then a paid fetch is killed
    /// at <paramref name="point"/> (its second hit); after the restart the session's total_paid must come to agree with the chain.
    /// </summary>
    [Theory]
    [InlineData(FaultPoints.PaymentSigned)]
    [InlineData(FaultPoints.PaymentSent)]
    [InlineData(FaultPoints.PaymentAnswered)]
    public async Task PaidFetch_SessionTotalAgreesWithTheChain_WhenTheHostIsKilledAtAStep(string point)
    {
        var ns = StackFixture.NewNamespace();
        var prefix = $"/api/{ns}/";
        var endpoint = Stack.MainServer + prefix + Route;
        var price = Stack.Price(Route);
        var payTo = Stack.PayTo("main");
        var folder = Directory.CreateTempSubdirectory("x402-fault-").FullName;
        var stateFile = Path.Combine(folder, "x402.db");
        var logs = Path.Combine(folder, "logs");
        var name = $"{point}#2 (fetch, rpc)";
        try
        {
            var ledger = await Ledger.TakeAsync(Stack, payTo, Payer.Address);
            string sessionId;
            await using (var armed = await ChildHost.StartAsync(Stack, Payer, stateFile, logs, "armed", point + "#2", withRpc: true))
            {
                await using (var client = await armed.ConnectAsync())
                {
                    var start = (await client.StartAsync(endpoint, new Dictionary<string, object?> { ["idempotency_key"] = $"fault-fetch-{ns}" })).Ok();
                    Assert.Equal("pay-per-call", start.Str("reuse"));
                    Assert.Equal(price.ToString(CultureInfo.InvariantCulture), start["payment"].GetProperty("amount_atomic").GetString());
                    sessionId = start.Str("session_id");
                }

                await CrashDuringAsync(armed, point, client => client.FetchAsync(sessionId), output);
            }

            await Stack.WaitPaidRequestsDoneAsync("main", prefix, 1 + PaidRequestsBefore(point), ServerDoneWithin);
            await using var restarted = await ChildHost.StartAsync(Stack, Payer, stateFile, logs, "restarted", null, withRpc: true);
            await using var agent = await restarted.ConnectAsync();

            // The session's pending payment may take a moment to be resolved (against the chain): bounded wait for agreement.
            var delta = await ledger.DeltaAsync(payTo);
            var deadline = DateTime.UtcNow + ResolvedWithin;
            SessionView? session;
            while (true)
            {
                session = await FindSessionAsync(agent, sessionId, null);
                if ((session is not null && session.TotalPaid == delta) || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(250);
            }

            var settlements = delta / price;
            output.WriteLine($"crash at {name}: settlements on chain = {Amount(settlements)}, outcome = {session?.Status ?? "no session"}, total_paid = {(session is null ? "-" : Amount(session.TotalPaid / price))} × price");
            output.WriteLine($"  session: {session?.Describe(price) ?? "none"}");
            var problems = new List<string>();
            if (delta % price != 0 || settlements < 1 || settlements > 2)
            {
                problems.Add($"the payee received {Amount(delta)} = {Amount(settlements)} × price: the start's settlement and at most one for the fetch");
            }

            if (session is null)
            {
                problems.Add($"x402_session_status does not know session {sessionId} after the restart");
            }
            else if (session.TotalPaid != delta)
            {
                problems.Add($"the session's total_paid is {Amount(session.TotalPaid)} ({session.PaymentCount} payments) but the chain moved {Amount(delta)} (waited {ResolvedWithin.TotalSeconds:0} s for the pending payment to be resolved)");
            }

            Assert.True(problems.Count == 0, $"crash at {name}:\n- " + string.Join("\n- ", problems) + $"\n--- restarted host log ---\n{restarted.Process.Tail(40)}");
            await restarted.StopAsync();
        }
        finally
        {
            TryDelete(folder);
        }
    }

    /// <summary>Requests carrying the payment that the armed host certainly sent before it died at <paramref name="point"/>.</summary>
    private static int PaidRequestsBefore(string point) => point is FaultPoints.PaymentSent or FaultPoints.PaymentAnswered or FaultPoints.StartBeforeActivate ? 1 : 0;
}
