using System.Globalization;
using System.Text.Json.Nodes;
using Orleans.Runtime;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;
using static X402Orleans.Grains.Tests.TestData;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// <c>batch-settlement</c> as a session payment: the session pays each call through the channel of the wallet and the payee (the
/// first call deposits, later calls sign a voucher alone), adds each charge to its totals and holds max_total across vouchers; ending
/// the channel's last live session makes its cooperative refund due, ending any other only leaves the channel. Parallel calls of one
/// agent to one payee take the lowest-numbered free channel of the agent's pool.
/// </summary>
[Collection(SessionsClusterDefinition.Name)]
public sealed class BatchSettlementSessionTests(SessionsClusterFixture fixture)
{
    private const string ReceiverAuthorizer = "0x857b06519E91e3A54538791bDbb0E22373e36b66";
    private readonly IGrainFactory _grains = fixture.Grains;

    // A fresh payee per test, so each test has its own channel.
    private readonly string _payTo = LocalPrivateKeySigner.Generate().Address;

    private PaymentChallenge Challenge()
    {
        var required = new JsonObject
        {
            ["x402Version"] = 2,
            ["error"] = "Payment required",
            ["resource"] = new JsonObject { ["url"] = Endpoint + "/data", ["description"] = "data", ["mimeType"] = "application/json" },
            ["accepts"] = new JsonArray(new JsonObject
            {
                ["scheme"] = BatchSettlementScheme.Name,
                ["network"] = "eip155:84532",
                ["amount"] = "1000",
                ["asset"] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                ["payTo"] = _payTo,
                ["maxTimeoutSeconds"] = 60,
                ["extra"] = new JsonObject { ["name"] = "USDC", ["version"] = "2", ["receiverAuthorizer"] = ReceiverAuthorizer },
            }),
        };
        return new PaymentChallenge(X402Json.EncodeHeader(required), true, Endpoint + "/data");
    }

    private string Receipt(long charged, long balance, long chargedTotal) =>
        new SettlementResponse(true, string.Empty, "eip155:84532", fixture.Services.Wallet.Address, null)
        {
            Extra = new JsonObject
            {
                ["chargedAmount"] = charged.ToString(CultureInfo.InvariantCulture),
                ["channelState"] = new JsonObject
                {
                    ["balance"] = balance.ToString(CultureInfo.InvariantCulture),
                    ["totalClaimed"] = "0",
                    ["chargedCumulativeAmount"] = chargedTotal.ToString(CultureInfo.InvariantCulture),
                },
            },
        }.EncodeHeader();

    private static JsonObject Payload(PaymentDecision decision) =>
        PaymentPayload.TryDecodeHeader(decision.Payment!.HeaderValue, out var payload, out var why) ? payload!.Payload : throw new InvalidOperationException(why);

    private static string Ceiling(PaymentDecision decision) => Payload(decision)["voucher"]!["maxClaimableAmount"]!.GetValue<string>();

    private async Task<(ISessionGrain Grain, string Agent)> OpenAsync(string? maxTotal = null, string? agent = null)
    {
        agent ??= NewAgent();
        var (grain, _, _) = await OpenActiveAsync(_grains, agent, Command(agent, allowRepeatPayments: true) with { MaxTotal = maxTotal });
        return (grain, agent);
    }

    private async Task<ChannelAnswerResult> PayAsync(ISessionGrain grain, string agent, long charged, long balance, long chargedTotal)
    {
        var decision = await grain.PreparePayment(agent, Challenge());
        Assert.True(decision.Approved, decision.Message);
        var answer = await grain.RecordChannelAnswer(agent, new ChannelAnswer(decision.ReservationId, ChannelAnswerKind.Receipt, Receipt(charged, balance, chargedTotal)));
        Assert.True(answer.Paid, answer.Message);
        return answer;
    }

    [Fact]
    public async Task PreparePayment_DepositsOnTheFirstCallAndSignsVouchersAfter_AndTheSessionCountsEachCharge()
    {
        var (grain, agent) = await OpenAsync();

        var first = await grain.PreparePayment(agent, Challenge());
        Assert.True(first.Approved, first.Message);
        Assert.Equal(("deposit", "1000", PaymentQuote.BatchSettlement), (Payload(first)["type"]!.GetValue<string>(), Ceiling(first), first.Payment!.Quote.Scheme));
        var paid = await grain.RecordChannelAnswer(agent, new ChannelAnswer(first.ReservationId, ChannelAnswerKind.Receipt, Receipt(800, 5000, 800)));
        Assert.True(paid.Paid, paid.Message);
        Assert.Equal(("800", "1000", "5000", "4200"), (paid.Receipt!.AmountAtomic, paid.Receipt.MaximumAtomic, paid.Receipt.DepositAtomic, paid.Receipt.ChannelRemainingAtomic));

        var second = await grain.PreparePayment(agent, Challenge());
        Assert.Equal(("voucher", "1800"), (Payload(second)["type"]!.GetValue<string>(), Ceiling(second)));
        var again = await grain.RecordChannelAnswer(agent, new ChannelAnswer(second.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 1800)));
        Assert.Null(again.Receipt!.DepositAtomic);

        var session = (await grain.GetStatus(agent)).Session!;
        Assert.Equal("1800", Assert.Single(session.PaidTotals).AmountAtomic);
        Assert.Equal(("5000", "1800", "3200", "1800", "open"), (session.Channel!.DepositedAtomic, session.Channel.ChargedAtomic, session.Channel.RemainingAtomic, session.Channel.SessionChargedAtomic, session.Channel.Phase));
        var log = await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10);
        Assert.Contains(log, a => a.Outcome == "deposited" && a.AmountAtomic == "5000");
        Assert.Equal(["1000", "800"], log.Where(a => a.Outcome == "settled").Select(a => a.AmountAtomic).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PreparePayment_RefusesBeforeSigning_WhenTheNextVoucherWouldPassMaxTotal()
    {
        var (grain, agent) = await OpenAsync(maxTotal: "0.0025");
        await PayAsync(grain, agent, 1000, 5000, 1000);
        await PayAsync(grain, agent, 1000, 5000, 2000);

        var third = await grain.PreparePayment(agent, Challenge());

        Assert.False(third.Approved);
        Assert.Contains("max_total", third.Message, StringComparison.Ordinal);
        var session = (await grain.GetStatus(agent)).Session!;
        var channel = await _grains.GetGrain<IPaymentChannelGrain>(session.Channel!.Key).GetStatus();
        Assert.Equal(("2000", "2000"), (channel.ChargedAtomic, channel.HighestSignedAtomic)); // nothing signed for the third call
        Assert.Null(channel.InFlightRequestId);
    }

    [Fact]
    public async Task RecordChannelAnswer_SignsOnceMoreOnTheServersTotal_WhenItsCorrectionCarriesOurOwnVoucher()
    {
        var (grain, agent) = await OpenAsync();
        await PayAsync(grain, agent, 1000, 5000, 1000);
        var second = await grain.PreparePayment(agent, Challenge());
        var ours = Payload(second)["voucher"]!.AsObject();
        var corrective = Challenge402(ours, serverCharged: 1500);

        var answer = await grain.RecordChannelAnswer(agent, new ChannelAnswer(second.ReservationId, ChannelAnswerKind.Challenge, corrective, BatchSettlementScheme.ErrCumulativeAmountMismatch));

        Assert.False(answer.Paid);
        Assert.True(answer.Retry is { Approved: true }, answer.Retry?.Message ?? answer.Message);
        Assert.Equal("2500", Ceiling(answer.Retry!)); // the server's 1500 + the price
        var again = await grain.RecordChannelAnswer(agent, new ChannelAnswer(answer.Retry!.ReservationId, ChannelAnswerKind.Challenge, corrective, BatchSettlementScheme.ErrCumulativeAmountMismatch));
        Assert.Null(again.Retry); // corrected once: not retried again
    }

    [Fact]
    public async Task RecordChannelAnswer_CountsTheEarlierUnansweredCallsCharge_WhenTheServersCorrectionShowsIt()
    {
        var (grain, agent) = await OpenAsync();
        await PayAsync(grain, agent, 1000, 5000, 1000);
        var lost = await grain.PreparePayment(agent, Challenge());
        await grain.RecordChannelAnswer(agent, new ChannelAnswer(lost.ReservationId, ChannelAnswerKind.Unanswered, null, "timed out"));
        var next = await grain.PreparePayment(agent, Challenge());
        Assert.Equal(Ceiling(lost), Ceiling(next)); // signed on the known total again: the same voucher

        // the server had charged the lost call 700: its corrective 402 carries our voucher and its total 1700
        var corrected = await grain.RecordChannelAnswer(agent, new ChannelAnswer(next.ReservationId, ChannelAnswerKind.Challenge, Challenge402(Payload(next)["voucher"]!.AsObject(), serverCharged: 1700), BatchSettlementScheme.ErrCumulativeAmountMismatch));
        Assert.Equal("2700", Ceiling(corrected.Retry!));
        var paid = await grain.RecordChannelAnswer(agent, new ChannelAnswer(corrected.Retry!.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 2700)));

        Assert.True(paid.Paid, paid.Message);
        var session = (await grain.GetStatus(agent)).Session!;
        Assert.Equal(("2700", "2700", "2700"), (Assert.Single(session.PaidTotals).AmountAtomic, session.Channel!.ChargedAtomic, session.Channel.SessionChargedAtomic));
        var log = await _grains.GetGrain<IAgentGrain>(agent).ListAttempts(10);
        Assert.Equal(["1000", "1000", "700"], log.Where(a => a.Outcome == "settled").Select(a => a.AmountAtomic).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PrepareRefund_SendsNoSecondRefundAndShowsTheChannelRefunded_WhenTheLostRefundWasMadeOnChain()
    {
        var (grain, agent) = await OpenAsync();
        await PayAsync(grain, agent, 1000, 5000, 1000);
        Assert.True((await grain.End(agent)).Session!.Channel!.RefundDue);
        var refund = await grain.PrepareRefund(agent, Challenge());
        var channelId = Payload(refund)["voucher"]!["channelId"]!.GetValue<string>();

        // the server made the refund but its answer was lost: on chain only the claimed charge is left, refund nonce 1
        fixture.Services.Channels.Set(channelId, new X402Orleans.Grains.Payments.ChannelChainState(true, 1000, 1000, 1));
        await grain.RecordChannelAnswer(agent, new ChannelAnswer(refund.ReservationId, ChannelAnswerKind.Unanswered, null, "connection lost"));
        var again = await grain.PrepareRefund(agent, Challenge());

        Assert.False(again.Approved, "a second refund voucher was signed");
        var channel = (await grain.GetStatus(agent)).Session!.Channel!;
        Assert.Equal(("refunded", "0", false), (channel.Phase, channel.RemainingAtomic, channel.RefundDue));
        Assert.StartsWith("refunded (the refund's answer was lost", channel.Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareRefund_KeepsTheRefundDue_WhileTheChannelIsBusy()
    {
        var (first, agent) = await OpenAsync();
        var (second, _) = await OpenAsync(agent: agent);
        await PayAsync(first, agent, 1000, 5000, 1000);
        var inFlight = await second.PreparePayment(agent, Challenge()); // a request of the agent's other session holds the channel
        Assert.True(inFlight.Approved, inFlight.Message);
        await second.End(agent);
        Assert.True((await first.End(agent)).Session!.Channel!.RefundDue);

        var refused = await first.PrepareRefund(agent, Challenge());

        Assert.False(refused.Approved);
        var channel = (await first.GetStatus(agent)).Session!.Channel!;
        Assert.True(channel.RefundDue, channel.Note);
        Assert.StartsWith("refund waits: the channel is busy", channel.Note, StringComparison.Ordinal);
    }

    private string Challenge402(JsonObject voucher, long serverCharged)
    {
        var required = JsonNode.Parse(Convert.FromBase64String(Challenge().Encoded))!.AsObject();
        required["error"] = BatchSettlementScheme.ErrCumulativeAmountMismatch;
        var extra = required["accepts"]![0]!["extra"]!.AsObject();
        extra["channelState"] = new JsonObject { ["channelId"] = voucher["channelId"]!.GetValue<string>(), ["balance"] = "5000", ["totalClaimed"] = "0", ["chargedCumulativeAmount"] = serverCharged.ToString(CultureInfo.InvariantCulture) };
        extra["voucherState"] = new JsonObject { ["signedMaxClaimable"] = voucher["maxClaimableAmount"]!.GetValue<string>(), ["signature"] = voucher["signature"]!.GetValue<string>() };
        return required.ToJsonString();
    }

    [Fact]
    public async Task End_LeavesTheRefundToTheLastLiveSession_AndThatSessionsRefundReturnsTheRest()
    {
        var (first, agentA) = await OpenAsync();
        var (second, agentB) = await OpenAsync(agent: agentA); // an agent's sessions with one payee share its channel
        await PayAsync(first, agentA, 1000, 5000, 1000);
        await PayAsync(second, agentB, 1000, 5000, 2000);

        var endedFirst = (await first.End(agentA)).Session!.Channel!;
        var refusedRefund = await first.PrepareRefund(agentA, Challenge());

        Assert.False(endedFirst.RefundDue);
        Assert.Contains("1 other live session", endedFirst.Note, StringComparison.Ordinal);
        Assert.False(refusedRefund.Approved);

        var endedSecond = (await second.End(agentB)).Session!.Channel!;
        Assert.True(endedSecond.RefundDue, endedSecond.Note);
        var refund = await second.PrepareRefund(agentB, Challenge());
        Assert.True(refund.Approved, refund.Message);
        Assert.Equal(("refund", "2000", "3000"), (Payload(refund)["type"]!.GetValue<string>(), Ceiling(refund), refund.Payment!.Quote.AmountAtomic));
        var refunded = await second.RecordChannelAnswer(agentB, new ChannelAnswer(refund.ReservationId, ChannelAnswerKind.Receipt, Receipt(0, 2000, 2000)));

        Assert.True(refunded.Paid, refunded.Message);
        var channel = (await second.GetStatus(agentB)).Session!.Channel!;
        Assert.Equal(("refunded", "0", false), (channel.Phase, channel.RemainingAtomic, channel.RefundDue));
        Assert.StartsWith("refunded 0.003 USDC", channel.Note, StringComparison.Ordinal);
        Assert.Contains(await _grains.GetGrain<IAgentGrain>(agentB).ListAttempts(10), a => a.Outcome == "refunded" && a.AmountAtomic == "3000");
    }

    private static string ChannelOf(PaymentDecision decision) => Payload(decision)["voucher"]!["channelId"]!.GetValue<string>();

    [Fact]
    public async Task PreparePayment_TakesTheLowestFreeChannelOfThePool_AndRefusesNamingTheSetting_WhenAllAreBusy()
    {
        using var rules = fixture.Services.UseRules(new PaymentRules { ChannelPoolSize = 3 });
        var (grain, agent) = await OpenAsync();
        var (other, _) = await OpenAsync(agent: agent); // the agent's second session on the payee shares the pool

        var first = await grain.PreparePayment(agent, Challenge());
        var second = await other.PreparePayment(agent, Challenge());
        var third = await grain.PreparePayment(agent, Challenge());
        var refused = await other.PreparePayment(agent, Challenge());

        Assert.True(first.Approved && second.Approved && third.Approved, $"{first.Message} {second.Message} {third.Message}");
        Assert.Equal(3, new[] { ChannelOf(first), ChannelOf(second), ChannelOf(third) }.Distinct().Count());
        Assert.All(new[] { first, second, third }, d => Assert.Equal("deposit", Payload(d)["type"]!.GetValue<string>())); // each channel its own deposit
        Assert.False(refused.Approved);
        Assert.Contains("all 3 payment channel(s)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("X402__Payments__ChannelPoolSize", refused.Message, StringComparison.Ordinal);

        // Channel 1 frees: the next call takes it (the lowest free), by voucher alone, and no fourth channel is opened.
        await other.RecordChannelAnswer(agent, new ChannelAnswer(second.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 1000)));
        var fourth = await other.PreparePayment(agent, Challenge());
        Assert.Equal((ChannelOf(second), "voucher"), (ChannelOf(fourth), Payload(fourth)["type"]!.GetValue<string>()));

        await grain.RecordChannelAnswer(agent, new ChannelAnswer(first.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 1000)));
        await grain.RecordChannelAnswer(agent, new ChannelAnswer(third.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 1000)));
        var session = (await grain.GetStatus(agent)).Session!;
        Assert.Equal([(0, "1000"), (2, "1000")], session.AllChannels.Select(c => (c.PoolIndex, c.SessionChargedAtomic)).Order());
        Assert.Equal("2000", Assert.Single(session.PaidTotals).AmountAtomic);
    }

    [Fact]
    public async Task End_RefundsEachChannelNoOtherLiveSessionNeeds_WhenTheSessionUsedTwoChannels()
    {
        var (grain, agent) = await OpenAsync();
        var first = await grain.PreparePayment(agent, Challenge());
        var second = await grain.PreparePayment(agent, Challenge());
        await grain.RecordChannelAnswer(agent, new ChannelAnswer(first.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 1000)));
        await grain.RecordChannelAnswer(agent, new ChannelAnswer(second.ReservationId, ChannelAnswerKind.Receipt, Receipt(1000, 5000, 1000)));

        var ended = (await grain.End(agent)).Session!;
        var refunds = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var refund = await grain.PrepareRefund(agent, Challenge());
            Assert.True(refund.Approved, refund.Message);
            refunds.Add(ChannelOf(refund));
            await grain.RecordChannelAnswer(agent, new ChannelAnswer(refund.ReservationId, ChannelAnswerKind.Receipt, Receipt(0, 1000, 1000)));
        }

        Assert.All(ended.AllChannels, c => Assert.True(c.RefundDue));
        Assert.Equal(new[] { ChannelOf(first), ChannelOf(second) }.Order(), refunds.Order());
        Assert.All((await grain.GetStatus(agent)).Session!.AllChannels, c => Assert.Equal(("refunded", false), (c.Phase, c.RefundDue)));
        Assert.False((await grain.PrepareRefund(agent, Challenge())).Approved);
    }

    [Fact]
    public async Task SessionGrain_ReadsTheSingleChannelLayout_AndRefundsThatChannelAtTheEnd()
    {
        var (grain, agent) = await OpenAsync();
        await PayAsync(grain, agent, 1000, 5000, 1000);
        await DeactivateAllIdleAsync(_grains);
        Assert.True(await EventuallyAsync(async () => await ActivationCountAsync(_grains, grain) == 0), "the session grain was not deactivated");

        // Rewrite the stored record as the layout before channel pools stored it: one channel in "channel", no "channels".
        var stored = new GrainState<SessionState>(new SessionState());
        await fixture.Storage.ReadStateAsync("session", grain.GetGrainId(), stored);
        var record = stored.State ?? throw new InvalidOperationException("the session has no stored record");
        record.Channel = Assert.Single(record.Channels);
        record.Channels = [];
        await fixture.Storage.WriteStateAsync("session", grain.GetGrainId(), stored);

        var status = (await grain.GetStatus(agent)).Session!;
        var ended = (await grain.End(agent)).Session!;
        var refund = await grain.PrepareRefund(agent, Challenge());

        Assert.Equal((0, "1000", "4000"), (status.Channel!.PoolIndex, status.Channel.SessionChargedAtomic, status.Channel.RemainingAtomic));
        Assert.True(Assert.Single(ended.AllChannels).RefundDue);
        Assert.True(refund.Approved, refund.Message);
        Assert.Equal(status.Channel.ChannelId, ChannelOf(refund));
    }
}
