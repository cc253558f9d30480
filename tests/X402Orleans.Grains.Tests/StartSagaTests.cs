using System.Text.Json.Nodes;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Wire;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// The start as a saga in the session grain: one attempt holds a start at a time, a payment is signed by the silo and recorded as
/// pending before it is handed out, and a retry resolves that payment (resend, or "state unknown" once it expired) instead of
/// paying again.
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class StartSagaTests(SessionsClusterFixture fixture)
{
    private const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    private readonly IGrainFactory _grains = fixture.Grains;

    internal static OpenSessionCommand StartCommand(string agentId, string key, Guid attempt, string fingerprint = "fp-1") =>
        Command(agentId, maxPayment: "0.01") with { IdempotencyKey = key, Fingerprint = fingerprint, AttemptId = attempt, AttemptTimeout = TimeSpan.FromSeconds(30) };

    internal static PaymentChallenge Challenge(Guid attempt, string amount = "1000") => new(
        X402Json.EncodeHeader(new JsonObject
        {
            ["x402Version"] = 2,
            ["error"] = "Payment required",
            ["resource"] = new JsonObject { ["url"] = Endpoint + "/data", ["description"] = "data", ["mimeType"] = "application/json" },
            ["accepts"] = new JsonArray(new JsonObject
            {
                ["scheme"] = "exact",
                ["network"] = "eip155:84532",
                ["amount"] = amount,
                ["asset"] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                ["payTo"] = PayTo,
                ["maxTimeoutSeconds"] = 300,
                ["extra"] = new JsonObject { ["name"] = "USDC", ["version"] = "2" },
            }),
        }),
        true,
        Endpoint + "/data",
        attempt);

    /// <summary>A start whose attempt holds the lease and had the silo sign its payment.</summary>
    private async Task<(ISessionGrain Grain, string Agent, string Key, PaymentDecision Decision)> StartWithSignedPaymentAsync()
    {
        var (grain, agent, key) = NewStart();
        var attempt = Guid.NewGuid();
        await grain.BeginStart(StartCommand(agent, key, attempt));
        return (grain, agent, key, await grain.PreparePayment(agent, Challenge(attempt)));
    }

    private (ISessionGrain Grain, string Agent, string Key) NewStart()
    {
        var agent = NewAgent();
        var key = "key-" + Guid.NewGuid().ToString("N");
        return (_grains.GetGrain<ISessionGrain>(SessionIds.ForStart(agent, key)), agent, key);
    }

    [Fact]
    public void ForStart_DerivesTheSameIdForTheSameAgentAndKey_AndAnotherForAnotherAgent()
    {
        Assert.Equal(SessionIds.ForStart("a", "k"), SessionIds.ForStart("a", "k"));
        Assert.NotEqual(SessionIds.ForStart("a", "k"), SessionIds.ForStart("b", "k"));
        Assert.Equal(8, SessionIds.ForStart("a", "k").Version);
    }

    [Fact]
    public async Task BeginStart_AnswersBusy_WhileAnotherAttemptHoldsTheStart()
    {
        var (grain, agent, key) = NewStart();
        var first = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));
        var second = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        Assert.Equal(StartStepKind.Proceed, first.Kind);
        Assert.Equal(StartStepKind.Busy, second.Kind);
        Assert.Contains("in progress", second.Message, StringComparison.Ordinal);
        Assert.NotNull(second.RetryAfter);
    }

    [Fact]
    public async Task BeginStart_RefusesOtherArguments_WhenTheKeyWasUsedForAnotherStart()
    {
        var (grain, agent, key) = NewStart();
        await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        var other = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid(), fingerprint: "fp-2"));

        Assert.Equal(StartStepKind.Refused, other.Kind);
        Assert.Contains("different arguments", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreparePayment_SignsWithTheSilosWalletAndRecordsItPending_AndNeverSignsASecondForTheSameStart()
    {
        var (grain, agent, key) = NewStart();
        var attempt = Guid.NewGuid();
        await grain.BeginStart(StartCommand(agent, key, attempt));
        var signedAt = fixture.Services.Clock.GetUtcNow();

        var decision = await grain.PreparePayment(agent, Challenge(attempt));
        var again = await grain.PreparePayment(agent, Challenge(attempt));

        Assert.True(decision.Approved, decision.Message);
        var payment = decision.Payment!;
        Assert.Equal(X402Headers.PaymentSignature, payment.HeaderName);
        Assert.True(PaymentPayload.TryDecodeHeader(payment.HeaderValue, out var payload, out var why), why);
        Assert.Equal(fixture.Services.Wallet.Address, payload!.Payload["authorization"]!["from"]!.GetValue<string>());
        Assert.Equal(payment.Nonce, payload.Payload["authorization"]!["nonce"]!.GetValue<string>());
        Assert.Equal(signedAt.AddSeconds(300), payment.ValidBefore);
        Assert.False(again.Approved);
        Assert.Contains("already pending", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreparePayment_Refuses_WhenTheAttemptDoesNotHoldTheStart()
    {
        var (grain, agent, key) = NewStart();
        await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        var decision = await grain.PreparePayment(agent, Challenge(Guid.NewGuid()));

        Assert.False(decision.Approved);
        Assert.Null(decision.Payment);
    }

    [Fact]
    public async Task PreparePayment_RefusesAndSignsNothing_WhenThePriceExceedsMaxPayment()
    {
        var (grain, agent, key) = NewStart();
        var attempt = Guid.NewGuid();
        await grain.BeginStart(StartCommand(agent, key, attempt));

        var decision = await grain.PreparePayment(agent, Challenge(attempt, amount: "20000"));

        Assert.False(decision.Approved);
        Assert.Null(decision.Payment);
        Assert.Contains("exceeds max_payment 0.01 USDC", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeginStart_HandsBackTheSamePendingPayment_WhenARetryFollowsACrashedAttempt()
    {
        var (grain, agent, key, decision) = await StartWithSignedPaymentAsync();
        var signed = decision.Payment!;

        // The attempt died after signing: once its lease ran out, a retry gets the very same signed payment to resend.
        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(46));
        var retry = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        Assert.Equal(StartStepKind.Resend, retry.Kind);
        Assert.Equal(signed.HeaderValue, retry.Resend!.HeaderValue);
    }

    [Fact]
    public async Task BeginStart_FailsWithPaymentStateUnknownAndKeepsItCounted_WhenThePendingPaymentExpiredWithoutAKnownOutcome()
    {
        var (grain, agent, key, decision) = await StartWithSignedPaymentAsync();
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, false, null, "no answer", MayHaveSettled: true, Unanswered: true));

        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(301));
        var retry = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));
        var again = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        Assert.Equal(StartStepKind.Refused, retry.Kind);
        Assert.Contains("payment state unknown", retry.Message, StringComparison.Ordinal);
        Assert.Equal(StartStepKind.Refused, again.Kind);
        var spend = await _grains.GetGrain<IWalletBudgetGrain>(WalletBudgetGrain.KeyFor(fixture.Services.Wallet.Address, fixture.Services.Clock.GetUtcNow() - TimeSpan.FromSeconds(301))).GetSpend(agent);
        Assert.Equal("1000", Assert.Single(spend).AgentCommittedAtomic);
    }

    [Fact]
    public async Task BeginStart_StartsAfresh_WhenTheEarlierStartFailedWithNothingPaid()
    {
        var (grain, agent, key, decision) = await StartWithSignedPaymentAsync();
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, false, null, "invalid_exact_evm_insufficient_balance"));
        var abandoned = await grain.Abandon(agent, "the server refused the payment");

        var retry = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        Assert.True(abandoned.Succeeded, abandoned.Message);
        Assert.Equal(StartStepKind.Proceed, retry.Kind);
        Assert.Equal(SessionStatus.Starting, retry.Session!.Status);
    }

    [Fact]
    public async Task Abandon_KeepsTheStartOpen_WhenItsPaymentGotNoAnswer()
    {
        var (grain, agent, key, decision) = await StartWithSignedPaymentAsync();
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, false, null, "no answer", MayHaveSettled: true, Unanswered: true));

        var abandoned = await grain.Abandon(agent, "no answer");
        var retry = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        Assert.False(abandoned.Succeeded);
        Assert.Contains("retry x402_session_start with the same idempotency_key", abandoned.Message, StringComparison.Ordinal);
        Assert.Equal(StartStepKind.Resend, retry.Kind);
        Assert.Equal(decision.Payment!.HeaderValue, retry.Resend!.HeaderValue);
    }

    [Fact]
    public async Task BeginStart_ReplaysTheSession_WhenTheStartFinished()
    {
        var (grain, agent, key, decision) = await StartWithSignedPaymentAsync();
        await grain.RecordPayment(agent, new PaymentOutcome(decision.ReservationId, true, decision.Payment!.Quote.ToReceipt(fixture.Services.Wallet.Address, "0x" + new string('b', 64), ClusterServices.Start, false), null));
        await grain.Activate(agent, ReuseMode.SignInWithX, Endpoint + "/data");

        var replay = await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        Assert.Equal(StartStepKind.Done, replay.Kind);
        Assert.Equal(SessionStatus.Active, replay.Session!.Status);
        Assert.Single(replay.Session.Payments);
    }

    [Fact]
    public async Task SignIn_Refuses_WhenTheUrlIsOutsideTheSessionsScope()
    {
        var (grain, agent, key) = NewStart();
        await grain.BeginStart(StartCommand(agent, key, Guid.NewGuid()));

        var proof = await grain.SignIn(agent, new SignInRequest("{}", "https://evil.example.com/data"));

        Assert.False(proof.Signed);
        Assert.Contains("scope", proof.Message, StringComparison.Ordinal);
    }
}
