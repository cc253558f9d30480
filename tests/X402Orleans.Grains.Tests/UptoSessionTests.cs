using System.Globalization;
using System.Text.Json.Nodes;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Wire;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// <c>upto</c> as a session payment: the silo signs a Permit2 witness permit for the maximum, reserves the maximum, commits what the
/// server charged and releases the rest; a charge of 0 keeps the maximum reserved until the permit's deadline (its nonce is unused,
/// so the payload could still settle); races never reserve beyond a cap; a crash between signing and the answer resends the same permit.
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class UptoSessionTests(SessionsClusterFixture fixture)
{
    private const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    private const string Facilitator = "0x4020000000000000000000000000000000000f4c";
    private const string Maximum = "5000";
    private readonly IGrainFactory _grains = fixture.Grains;

    private static PaymentChallenge UptoChallenge(Guid attempt, bool offerPermit = false, bool tokenDomain = true)
    {
        var extra = new JsonObject { ["facilitatorAddress"] = Facilitator };
        if (tokenDomain)
        {
            extra["name"] = "USDC";
            extra["version"] = "2";
        }

        var required = new JsonObject
        {
            ["x402Version"] = 2,
            ["error"] = "Payment required",
            ["resource"] = new JsonObject { ["url"] = Endpoint + "/data", ["description"] = "data", ["mimeType"] = "application/json" },
            ["accepts"] = new JsonArray(new JsonObject
            {
                ["scheme"] = "upto",
                ["network"] = "eip155:84532",
                ["amount"] = Maximum,
                ["asset"] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                ["payTo"] = PayTo,
                ["maxTimeoutSeconds"] = 300,
                ["extra"] = extra,
            }),
        };
        if (offerPermit)
        {
            required["extensions"] = new JsonObject { [Eip2612Permit.ExtensionKey] = new JsonObject { ["info"] = new JsonObject { ["version"] = "1" } } };
        }

        return new PaymentChallenge(X402Json.EncodeHeader(required), true, Endpoint + "/data", attempt);
    }

    private (ISessionGrain Grain, string Agent, string Key) NewStart(string? agent = null)
    {
        agent ??= NewAgent();
        var key = "key-" + Guid.NewGuid().ToString("N");
        return (_grains.GetGrain<ISessionGrain>(SessionIds.ForStart(agent, key)), agent, key);
    }

    private async Task<(ISessionGrain Grain, string Agent, string Key, PaymentDecision Decision)> SignedUptoStartAsync(string? agent = null)
    {
        var (grain, id, key) = NewStart(agent);
        var attempt = Guid.NewGuid();
        await grain.BeginStart(StartSagaTests.StartCommand(id, key, attempt));
        return (grain, id, key, await grain.PreparePayment(id, UptoChallenge(attempt)));
    }

    private Task<IReadOnlyList<AssetSpend>> SpendAsync(string agent, DateTimeOffset day) =>
        _grains.GetGrain<IWalletBudgetGrain>(WalletBudgetGrain.KeyFor(fixture.Services.Wallet.Address, day)).GetSpend(agent);

    private static PaymentOutcome Charged(PaymentDecision decision, string? chargedAtomic, DateTimeOffset now, bool alreadySettled = false) =>
        new(decision.ReservationId, true, decision.Payment!.Quote.ToReceipt(decision.Payment.Quote.Wallet, chargedAtomic is "0" ? string.Empty : "0x" + new string('b', 64), now, true, chargedAtomic), null, AlreadySettled: alreadySettled);

    [Fact]
    public async Task PreparePayment_SignsAPermit2PermitAndReservesTheMaximum_AndRecordPaymentCommitsOnlyWhatWasCharged()
    {
        var day = fixture.Services.Clock.GetUtcNow();
        var (grain, agent, _, decision) = await SignedUptoStartAsync();
        var reserved = Assert.Single(await SpendAsync(agent, day));

        await grain.RecordPayment(agent, Charged(decision, "2000", day));
        var activated = await grain.Activate(agent, ReuseMode.PayPerCall, Endpoint + "/data");
        var spend = Assert.Single(await SpendAsync(agent, day));
        var audit = (await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10))[0];

        Assert.True(decision.Approved, decision.Message);
        Assert.True(PaymentPayload.TryDecodeHeader(decision.Payment!.HeaderValue, out var payload, out var why), why);
        Assert.True(UptoPermit2Authorization.TryRead(payload!.Payload["permit2Authorization"] as JsonObject, out var permit, out why), why);
        Assert.Equal(fixture.Services.Wallet.Address, permit!.From);
        Assert.Equal(permit.Nonce.ToString(CultureInfo.InvariantCulture), decision.Payment.Nonce);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(permit.Deadline), decision.Payment.ValidBefore);
        Assert.Equal(Maximum, reserved.AgentReservedAtomic);
        Assert.Equal(("2000", "0"), (spend.AgentCommittedAtomic, spend.AgentReservedAtomic));
        Assert.True(activated.Succeeded, activated.Message);
        var receipt = Assert.Single(activated.Session!.Payments);
        Assert.Equal(("2000", Maximum), (receipt.AmountAtomic, receipt.MaximumAtomic));
        Assert.Equal(("settled", "2000", Maximum), (audit.Outcome, audit.AmountAtomic, audit.MaximumAtomic));
    }

    [Fact]
    public async Task RecordPayment_KeepsTheMaximumReservedUntilTheDeadline_WhenTheServerCharged0()
    {
        var day = fixture.Services.Clock.GetUtcNow();
        var (grain, agent, _, decision) = await SignedUptoStartAsync();

        await grain.RecordPayment(agent, Charged(decision, "0", day));
        var activated = await grain.Activate(agent, ReuseMode.PayPerCall, Endpoint + "/data");
        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(200));
        var beforeDeadline = Assert.Single(await SpendAsync(agent, day));
        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(101));
        var released = await EventuallyAsync(async () => Assert.Single(await SpendAsync(agent, day)).AgentReservedAtomic == "0");
        var after = Assert.Single(await SpendAsync(agent, day));

        Assert.True(activated.Succeeded, activated.Message);
        Assert.Equal(SessionStatus.Active, activated.Session!.Status);
        Assert.Equal(("0", Maximum), (beforeDeadline.AgentCommittedAtomic, beforeDeadline.AgentReservedAtomic));
        Assert.True(released, "the maximum was still reserved after the permit's deadline");
        Assert.Equal("0", after.AgentCommittedAtomic);
    }

    [Fact]
    public async Task PreparePayment_CountsAZeroChargedMaximumAgainstMaxTotal_UntilItsDeadline()
    {
        var (grain, agent) = (_grains.GetGrain<ISessionGrain>(Guid.NewGuid()), NewAgent());
        var opened = await grain.Open(Command(agent, maxPayment: "0.01", allowRepeatPayments: true) with { MaxTotal = "0.008" });
        await grain.Activate(agent, ReuseMode.PayPerCall, Endpoint + "/data");
        var first = await grain.PreparePayment(agent, UptoChallenge(Guid.Empty));
        await grain.RecordPayment(agent, Charged(first, "0", fixture.Services.Clock.GetUtcNow()));

        var second = await grain.PreparePayment(agent, UptoChallenge(Guid.Empty));

        Assert.True(opened.Succeeded, opened.Message);
        Assert.True(first.Approved, first.Message);
        Assert.False(second.Approved);
        Assert.Contains("max_total", second.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreparePayment_NeverReservesBeyondTheAgentsDailyLimit_WhenUptoStartsRace()
    {
        var day = fixture.Services.Clock.GetUtcNow();
        var agent = NewAgent();
        using var rules = fixture.Services.UseRules(new PaymentRules { AgentDailyLimit = "0.012" });

        var decisions = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => SignedUptoStartAsync(agent)));
        var approved = decisions.Where(d => d.Decision.Approved).ToList();
        var reserved = Assert.Single(await SpendAsync(agent, day));
        foreach (var (grain, _, _, decision) in approved)
        {
            await grain.RecordPayment(agent, Charged(decision, "2000", day));
        }

        var committed = Assert.Single(await SpendAsync(agent, day));
        var next = await SignedUptoStartAsync(agent);

        Assert.Equal(2, approved.Count);
        Assert.All(decisions.Where(d => !d.Decision.Approved), d => Assert.Contains("daily limit", d.Decision.Message, StringComparison.Ordinal));
        Assert.Equal("10000", reserved.AgentReservedAtomic);
        Assert.Equal(("4000", "0"), (committed.AgentCommittedAtomic, committed.AgentReservedAtomic));
        Assert.True(next.Decision.Approved, next.Decision.Message);
    }

    [Fact]
    public async Task BeginStart_ResendsTheSameUptoPermit_AndCommitsWhatTheResendCharged_WhenTheAttemptDiedBetweenSigningAndTheAnswer()
    {
        var day = fixture.Services.Clock.GetUtcNow();
        var (grain, agent, key, decision) = await SignedUptoStartAsync();

        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(46));
        var retry = await grain.BeginStart(StartSagaTests.StartCommand(agent, key, Guid.NewGuid()));
        await grain.RecordPayment(agent, Charged(decision, "2000", fixture.Services.Clock.GetUtcNow()));
        var replay = await grain.BeginStart(StartSagaTests.StartCommand(agent, key, Guid.NewGuid()));
        var spend = Assert.Single(await SpendAsync(agent, day));

        Assert.Equal(StartStepKind.Resend, retry.Kind);
        Assert.Equal(decision.Payment!.HeaderValue, retry.Resend!.HeaderValue);
        Assert.Equal(decision.ReservationId, retry.ResendReservationId);
        Assert.Equal(StartStepKind.Done, replay.Kind);
        Assert.Equal(SessionStatus.Active, replay.Session!.Status);
        Assert.Equal(("2000", "0"), (spend.AgentCommittedAtomic, spend.AgentReservedAtomic));
    }

    [Fact]
    public async Task RecordPayment_CommitsTheMaximum_WhenTheServerSaysTheResentPermitWasAlreadyUsed()
    {
        var day = fixture.Services.Clock.GetUtcNow();
        var (grain, agent, _, decision) = await SignedUptoStartAsync();

        // permit2_invalid_nonce on a resend: an earlier attempt settled it, for an amount nobody reported here.
        await grain.RecordPayment(agent, Charged(decision, null, day, alreadySettled: true));
        var spend = Assert.Single(await SpendAsync(agent, day));

        Assert.Equal((Maximum, "0"), (spend.AgentCommittedAtomic, spend.AgentReservedAtomic));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PreparePayment_RefusesNamingTheOneTimeApprovalAndReservesNothing_WhenThePermit2AllowanceIsKnownShort(bool offerPermit)
    {
        var day = fixture.Services.Clock.GetUtcNow();
        using var rules = fixture.Services.UseRules(new PaymentRules { RpcEndpoints = new Dictionary<string, Uri> { ["eip155:84532"] = new("http://127.0.0.1:8545") } });
        fixture.Services.Tokens.Allowance = 0;
        try
        {
            var (grain, agent, key) = NewStart();
            var attempt = Guid.NewGuid();
            await grain.BeginStart(StartSagaTests.StartCommand(agent, key, attempt));

            // The 402 sponsors nothing, or an EIP-2612 permit with no token domain to sign it under: only an on-chain approval helps.
            var decision = await grain.PreparePayment(agent, UptoChallenge(attempt, offerPermit: offerPermit, tokenDomain: false));
            var spend = await SpendAsync(agent, day);
            var audit = (await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10))[0];

            Assert.False(decision.Approved);
            Assert.Null(decision.Payment);
            Assert.Contains($"approve Permit2 {Permit2.Address}", decision.Message, StringComparison.Ordinal);
            Assert.All(spend, s => Assert.Equal(("0", "0"), (s.AgentCommittedAtomic, s.AgentReservedAtomic)));
            Assert.Equal("not_authorized", audit.Outcome);
        }
        finally
        {
            fixture.Services.Tokens.Allowance = null;
        }
    }

    [Fact]
    public async Task PreparePayment_RefusesUpto_WhenTheSilosPolicyPaysOnlyExact()
    {
        using var rules = fixture.Services.UseRules(new PaymentRules { Policy = PaymentPolicy.Default });
        var (grain, agent, key) = NewStart();
        var attempt = Guid.NewGuid();
        await grain.BeginStart(StartSagaTests.StartCommand(agent, key, attempt));

        var decision = await grain.PreparePayment(agent, UptoChallenge(attempt));

        Assert.False(decision.Approved);
        Assert.Contains("scheme 'upto' is not supported (supported: exact)", decision.Message, StringComparison.Ordinal);
    }
}
