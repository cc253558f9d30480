using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Orleans.Runtime;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// The batch-settlement channel grain against our own primitives (no server yet): deposits and vouchers persisted before they are
/// answered, one request in flight, ceilings within one request of the highest ever signed, charges checked, corrections adopted
/// only when we signed them, the refund voucher, and the budgets.
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed partial class PaymentChannelGrainTests(SessionsClusterFixture fixture)
{
    private const string Network = "eip155:84532";
    private const string Usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    private const string ReceiverAuthorizer = "0x857b06519E91e3A54538791bDbb0E22373e36b66";
    private const int Price = 1000;

    private readonly IGrainFactory _grains = fixture.Grains;
    private readonly string _agent = TestData.NewAgent();

    // Which of the agent's pool of channels with the payee the test drives (0: the agent's first channel).
    private int _poolIndex;

    // A fresh payee per test, so each test has its own channel.
    private readonly string _payTo = LocalPrivateKeySigner.Generate().Address;

    private PaymentRequirements Requirement(JsonObject? extraMore = null)
    {
        var extra = new JsonObject { ["name"] = "USDC", ["version"] = "2", ["receiverAuthorizer"] = ReceiverAuthorizer };
        foreach (var (name, value) in extraMore ?? [])
        {
            extra[name] = value?.DeepClone();
        }

        return PaymentRequirements.Create(BatchSettlementScheme.Name, Network, Price, Usdc, _payTo, 60, extra);
    }

    private string ChallengeJson(PaymentRequirements requirement, string error = "", JsonObject? extensions = null) =>
        PaymentRequired.Create(error, new ResourceInfo(TestData.Endpoint + "/data", null, null), [requirement], extensions).ToJson().ToJsonString();

    private ChannelConfig Config => ChannelConfig.TryFromRequirements(Requirement(), fixture.Services.Wallet.Address, out var config, out var why, salt: PaymentChannelGrain.AgentSalt(_agent, _poolIndex)) ? config! : throw new InvalidOperationException(why);

    private string ChannelId => Config.ComputeId(Network);

    private IPaymentChannelGrain Channel => _grains.GetGrain<IPaymentChannelGrain>(ChannelKeys.For(Network, ChannelId));

    private ChannelRequest Request(string maxAmount = "1000") =>
        new(_agent, Guid.NewGuid(), ChallengeJson(Requirement()), Requirement().ToJson().ToJsonString(), maxAmount, null, "USDC", 6, _poolIndex);

    private string Receipt(long charged, long balance, long chargedTotal, bool success = true) =>
        new SettlementResponse(success, string.Empty, Network, fixture.Services.Wallet.Address, null)
        {
            Extra = new JsonObject
            {
                ["chargedAmount"] = charged.ToString(CultureInfo.InvariantCulture),
                ["channelState"] = new JsonObject
                {
                    ["channelId"] = ChannelId,
                    ["balance"] = balance.ToString(CultureInfo.InvariantCulture),
                    ["totalClaimed"] = "0",
                    ["withdrawRequestedAt"] = 0,
                    ["refundNonce"] = 0,
                    ["chargedCumulativeAmount"] = chargedTotal.ToString(CultureInfo.InvariantCulture),
                },
            },
        }.EncodeHeader();

    private async Task<string> CorrectiveJsonAsync(IPaymentSigner voucherSigner, long serverCharged, long signedMax)
    {
        var voucher = await Voucher.SignAsync(voucherSigner, ChannelId, signedMax, Network);
        var requirement = Requirement(new JsonObject
        {
            ["channelState"] = new JsonObject { ["channelId"] = ChannelId, ["balance"] = "5000", ["totalClaimed"] = "0", ["chargedCumulativeAmount"] = serverCharged.ToString(CultureInfo.InvariantCulture) },
            ["voucherState"] = new JsonObject { ["signedMaxClaimable"] = signedMax.ToString(CultureInfo.InvariantCulture), ["signature"] = voucher.Signature },
        });
        return ChallengeJson(requirement, BatchSettlementScheme.ErrCumulativeAmountMismatch);
    }

    private static JsonObject Payload(ChannelPayment payment) =>
        PaymentPayload.TryDecodeHeader(payment.HeaderValue, out var payload, out var why) ? payload!.Payload : throw new InvalidOperationException(why);

    private static BigInteger Ceiling(ChannelPayment payment) => BigInteger.Parse(Payload(payment)["voucher"]!["maxClaimableAmount"]!.GetValue<string>(), CultureInfo.InvariantCulture);

    private async Task<AssetSpend> SpendAsync() =>
        Assert.Single(await _grains.GetGrain<IWalletBudgetGrain>(WalletBudgetGrain.KeyFor(fixture.Services.Wallet.Address, fixture.Services.Clock.GetUtcNow())).GetSpend(_agent),
            s => s.AssetKey == $"{Network}/{Usdc.ToLowerInvariant()}");

    private async Task<ChannelPayment> PrepareAsync()
    {
        var payment = await Channel.PrepareRequest(Request());
        Assert.True(payment.Succeeded, payment.Message);
        return payment;
    }

    [Fact]
    public async Task PrepareRequest_SignsDepositAndVoucherAndStoresThemBeforeAnswering_OnTheFirstRequest()
    {
        var held = fixture.Services.Probe.HoldNextWrite(Channel.GetGrainId());
        var prepare = Channel.PrepareRequest(Request());
        await held.Started;
        Assert.False(prepare.IsCompleted, "the signed payload was answered before it was stored");
        held.Release();
        var payment = await prepare;

        Assert.True(payment.Succeeded, payment.Message);
        Assert.Equal(ChannelPayloadKind.Deposit, payment.Kind);
        Assert.Equal("5000", payment.DepositAtomic); // 5 × the price, the official client's default
        var payload = Payload(payment);
        Assert.Equal("deposit", payload["type"]!.GetValue<string>());
        Assert.Equal(Price, Ceiling(payment));
        Assert.True(Voucher.TryRead(payload["voucher"] as JsonObject, out var voucher, out _) && voucher!.IsSignedBy(fixture.Services.Wallet.Address, Network));

        var stored = new GrainState<PaymentChannelState>();
        await fixture.Storage.ReadStateAsync("channel", Channel.GetGrainId(), stored);
        Assert.NotNull(stored.State);
        Assert.Equal(payment.RequestId, stored.State.InFlight!.RequestId);
        Assert.Equal(voucher!.Signature, stored.State.InFlight.VoucherSignature);
        Assert.Equal("1000", stored.State.HighestSignedAtomic);
        Assert.Equal("5000", Assert.Single(stored.State.Deposits).AmountAtomic);
        Assert.Equal("5000", (await SpendAsync()).AgentReservedAtomic);
    }

    [Fact]
    public async Task PrepareRequest_ReturnsNoPayloadAndReleasesTheDeposit_WhenTheWriteFails()
    {
        var held = fixture.Services.Probe.HoldNextWrite(Channel.GetGrainId());
        var prepare = Channel.PrepareRequest(Request());
        await held.Started;
        held.Fail(new IOException("storage down"));

        await Assert.ThrowsAnyAsync<Exception>(() => prepare);

        Assert.Equal("0", (await SpendAsync()).AgentReservedAtomic);
        var status = await Channel.GetStatus();
        Assert.Null(status.InFlightRequestId);
        Assert.Equal("0", status.HighestSignedAtomic);
        Assert.Equal(ChannelPayloadKind.Deposit, (await PrepareAsync()).Kind);
    }

    [Fact]
    public async Task PrepareRequest_SignsAVoucherAlone_WhenTheBalanceCoversTheNextRequest()
    {
        var first = await PrepareAsync();
        var charge = await Channel.CompleteRequest(first.RequestId, Receipt(600, 5000, 600));
        Assert.True(charge.Accepted, charge.Message);
        Assert.True(charge.DepositMade);

        var second = await PrepareAsync();

        Assert.Equal(ChannelPayloadKind.Voucher, second.Kind);
        Assert.Equal("voucher", Payload(second)["type"]!.GetValue<string>());
        Assert.Equal(600 + Price, Ceiling(second));
        var spend = await SpendAsync();
        Assert.Equal("600", spend.AgentCommittedAtomic); // the charge, paid out of the deposit's reservation
        Assert.Equal("4400", spend.AgentReservedAtomic);
    }

    [Fact]
    public async Task PrepareRequest_AnswersBusy_WhenRequestsRace()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Channel.PrepareRequest(Request())));

        var signed = Assert.Single(answers, a => a.Succeeded);
        Assert.All(answers.Where(a => !a.Succeeded), a =>
        {
            Assert.Equal(ChannelRefusal.Busy, a.Refusal);
            Assert.Equal(signed.RequestId, a.RequestId);
            Assert.StartsWith("channel busy", a.Message, StringComparison.Ordinal);
        });
        Assert.Equal("5000", (await SpendAsync()).AgentReservedAtomic); // one deposit reserved, not five
    }

    [Fact]
    public async Task CompleteRequest_StopsTheChannel_WhenTheServerChargesMoreThanTheRequestMaximum()
    {
        var first = await PrepareAsync();

        var charge = await Channel.CompleteRequest(first.RequestId, Receipt(1500, 5000, 1500));

        Assert.False(charge.Accepted);
        Assert.Equal(ChannelPhase.Stopped, charge.Phase);
        Assert.Contains("more than the request's maximum 1000", charge.Message, StringComparison.Ordinal);
        var next = await Channel.PrepareRequest(Request());
        Assert.Equal(ChannelRefusal.Closed, next.Refusal);
        var status = await Channel.GetStatus();
        Assert.Equal("0", status.ChargedAtomic); // the server's claim is not adopted
        Assert.Equal("1000", (await SpendAsync()).AgentCommittedAtomic); // but what it may claim (our voucher) counts as spent
    }

    [Fact]
    public async Task AdoptCorrection_RefusesAForeignVoucherAndAdoptsOurs_WhenTheServerSaysOtherwise()
    {
        var first = await PrepareAsync();
        await Channel.CompleteRequest(first.RequestId, Receipt(400, 5000, 400));
        var second = await PrepareAsync(); // ceiling 1400

        var foreign = await Channel.AdoptCorrection(second.RequestId, await CorrectiveJsonAsync(LocalPrivateKeySigner.Generate(), 1400, 1400));

        Assert.False(foreign.Adopted);
        Assert.Equal("not_our_voucher", foreign.Verdict);
        Assert.Equal("400", (await Channel.GetStatus()).ChargedAtomic);

        // The retry meets a server that charged the lost request in full: its voucher is ours, so its total is adopted.
        var retry = await PrepareAsync();
        Assert.Equal(1400, Ceiling(retry));
        var ours = await Channel.AdoptCorrection(retry.RequestId, await CorrectiveJsonAsync(fixture.Services.Wallet, 1400, 1400));
        Assert.True(ours.Adopted, ours.Message);
        Assert.Equal("1400", ours.ChargedTotalAtomic);

        var after = await PrepareAsync();
        Assert.Equal(1400 + Price, Ceiling(after)); // = highest signed + one request's maximum, never more
        Assert.Equal("1400", (await SpendAsync()).AgentCommittedAtomic);
    }

    [Fact]
    public async Task PrepareRequest_NeverSignsBeyondHighestPlusOneRequest_AfterReactivationWithARequestInFlight()
    {
        var first = await PrepareAsync();
        await Channel.CompleteRequest(first.RequestId, Receipt(1000, 5000, 1000));
        var second = await PrepareAsync(); // ceiling 2000, in flight when the silo loses the activation
        await TestData.DeactivateAllIdleAsync(_grains);
        Assert.True(await TestData.EventuallyAsync(async () => await TestData.ActivationCountAsync(_grains, Channel) == 0));

        var reloaded = await Channel.GetStatus();
        Assert.Equal("2000", reloaded.HighestSignedAtomic);
        Assert.Equal(second.RequestId, reloaded.InFlightRequestId);
        Assert.Equal(ChannelRefusal.Busy, (await Channel.PrepareRequest(Request())).Refusal);

        // Past its lease the lost request's charge is unknown: the next voucher stands on the charge we know (the server corrects
        // us if it charged), within one request of the highest ceiling, and no second deposit is signed.
        fixture.Services.Clock.Advance(TimeSpan.FromSeconds(60) + PaymentChannelGrain.LeaseMargin + TimeSpan.FromSeconds(1));
        var third = await PrepareAsync();
        Assert.Equal(ChannelPayloadKind.Voucher, third.Kind);
        Assert.Equal(1000 + Price, Ceiling(third));
        var status = await Channel.GetStatus();
        Assert.True(status.ChargeUnknown);
        Assert.Equal("2000", status.HighestSignedAtomic);
        Assert.True(BigInteger.Parse(status.HighestSignedAtomic, CultureInfo.InvariantCulture) <= 2000 + Price);
    }

    [Fact]
    public async Task RequestRefund_SignsAVoucherAtTheChargedTotal_AndReleasesTheRestOfTheDeposit()
    {
        var first = await PrepareAsync();
        await Channel.CompleteRequest(first.RequestId, Receipt(700, 5000, 700));

        var refund = await Channel.RequestRefund(new ChannelRefundRequest(_agent, Guid.NewGuid(), ChallengeJson(Requirement()), Requirement().ToJson().ToJsonString()));

        Assert.True(refund.Succeeded, refund.Message);
        Assert.Equal(ChannelPayloadKind.Refund, refund.Kind);
        Assert.Equal("refund", Payload(refund)["type"]!.GetValue<string>());
        Assert.Equal(700, Ceiling(refund));
        Assert.Equal(refund.RequestId, (await Channel.GetStatus()).InFlightRequestId); // stored before it was answered
        var done = await Channel.CompleteRequest(refund.RequestId, Receipt(0, 700, 700));
        Assert.True(done.Accepted, done.Message);
        Assert.Equal(ChannelPhase.Refunded, done.Phase);
        var spend = await SpendAsync();
        Assert.Equal("700", spend.AgentCommittedAtomic);
        Assert.Equal("0", spend.AgentReservedAtomic);
    }

    [Fact]
    public async Task PrepareRequest_RefusesAndReservesNothing_WhenTheDepositExceedsTheBudget()
    {
        using var rules = fixture.Services.UseRules(new X402Orleans.Grains.Payments.PaymentRules { AgentDailyLimit = "0.004" });

        var payment = await Channel.PrepareRequest(Request());

        Assert.Equal(ChannelRefusal.BudgetExceeded, payment.Refusal);
        Assert.Contains("deposit of 5000", payment.Message, StringComparison.Ordinal);
        Assert.Equal("0", (await Channel.GetStatus()).HighestSignedAtomic);
    }
}
