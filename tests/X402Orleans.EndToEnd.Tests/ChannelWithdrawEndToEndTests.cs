using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Abstractions;
using X402Orleans.EndToEnd.Tests.Infrastructure;
using X402Orleans.Grains;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.EndToEnd.Tests;

/// <summary>
/// The unilateral withdraw on a real chain: anvil with our batch-settlement contract and the OFFICIAL batch-settlement facilitator.
/// The channel is opened by the silo's channel grain (its signed deposit, made on chain by the facilitator, as a server would), the
/// server's part — it claims one charge, then stops answering — is played through the facilitator, and the wallet takes the rest
/// back with <c>x402_channel_withdraw</c>. Truth is the chain: token balances, pending withdrawals, the wallet's transaction count.
/// </summary>
[Collection(BatchChainStackCollection.Name)]
public sealed class ChannelWithdrawEndToEndTests(BatchChainStackFixture fixture)
{
    private const string Tool = "x402_channel_withdraw";
    private const int Price = 1000;
    private const long WithdrawDelay = 900;

    private BatchChainStack Stack => fixture.Stack;

    [Fact]
    public async Task Withdraw_ReturnsTheDepositLessWhatTheServerClaimed_WithExactlyTwoTransactionsWhenEachStepIsCalledTwice()
    {
        var payer = fixture.Payer.Address;
        var (key, deposit) = await OpenChannelWithOneClaimedChargeAsync();
        var before = await Stack.BalanceAsync(payer);
        var sentBefore = await Stack.Chain.TransactionCountAsync(payer);
        var channel = new Dictionary<string, object?> { ["channel"] = key };

        var initiated = (await fixture.Client.CallAsync(Tool, With(channel, "initiate"))).Ok();
        var initiatedAgain = (await fixture.Client.CallAsync(Tool, With(channel, "initiate"))).Ok();
        var tooEarly = (await fixture.Client.CallAsync(Tool, With(channel, "finalize"))).Error();
        await Stack.Chain.IncreaseTimeAsync(WithdrawDelay);
        var finalized = (await fixture.Client.CallAsync(Tool, With(channel, "finalize"))).Ok();
        var finalizedAgain = (await fixture.Client.CallAsync(Tool, With(channel, "finalize"))).Ok();
        var status = (await fixture.Client.CallAsync(Tool, With(channel, "status"))).Ok();

        Assert.Equal(("initiated", "already_done"), (initiated.Str("outcome"), initiatedAgain.Str("outcome")));
        Assert.Equal(Text(deposit - Price), initiated.Str("amount_atomic")); // everything unclaimed
        Assert.Contains("finalize is possible from " + initiated.Str("finalizable_at"), tooEarly, StringComparison.Ordinal);
        Assert.Equal(("finalized", "already_done"), (finalized.Str("outcome"), finalizedAgain.Str("outcome")));
        Assert.Equal(("withdrawn", Text(deposit - Price)), (status.Str("phase"), status.Str("returned_atomic")));
        Assert.Equal(["initiate", "finalize"], status.Structured.GetProperty("transactions").EnumerateArray().Select(t => t.GetProperty("step").GetString()));
        Assert.Equal(deposit - Price, await Stack.BalanceAsync(payer) - before);
        Assert.Equal(2, await Stack.Chain.TransactionCountAsync(payer) - sentBefore);

        // The payment log: the claim the chain showed (once, though every call read it), then each mined step once.
        var log = (await fixture.Client.CallAsync("x402_payment_log", new Dictionary<string, object?> { ["limit"] = 100 })).Ok().Structured.GetProperty("attempts").EnumerateArray()
            .Where(a => Field(a, "reason")?.Contains(key[(key.LastIndexOf('/') + 1)..], StringComparison.Ordinal) == true).ToList();
        var hashes = status.Structured.GetProperty("transactions").EnumerateArray().Select(t => t.GetProperty("hash").GetString()).ToList();
        Assert.Equal(["withdrawn", "withdraw_initiated", "claimed"], log.Select(a => Field(a, "outcome")));
        Assert.Equal([Text(deposit - Price), Text(deposit - Price), Text(Price)], log.Select(a => Field(a, "amount_atomic")));
        Assert.Equal([hashes[1], hashes[0], null], log.Select(a => Field(a, "transaction")));
    }

    [Fact]
    public async Task Initiate_SendsTheRecordedTransactionOnRetry_WhenTheFirstBroadcastFailedForLackOfGas()
    {
        var payer = fixture.Payer.Address;
        var (key, deposit) = await OpenChannelWithOneClaimedChargeAsync();
        var sentBefore = await Stack.Chain.TransactionCountAsync(payer);
        var eth = await Stack.Chain.EthBalanceAsync(payer);
        var channel = new Dictionary<string, object?> { ["channel"] = key, ["action"] = "initiate" };
        await Stack.Chain.SetEthBalanceAsync(payer, 0);

        var noGas = (await fixture.Client.CallAsync(Tool, channel)).Error();
        var recorded = (await fixture.Client.CallAsync(Tool, With(channel, "status"))).Ok();
        await Stack.Chain.SetEthBalanceAsync(payer, eth);
        var retried = (await fixture.Client.CallAsync(Tool, channel)).Ok();

        Assert.Contains("too little ETH", noGas, StringComparison.Ordinal);
        var signed = Assert.Single(recorded.Structured.GetProperty("transactions").EnumerateArray());
        Assert.Equal(("initiate", "signed"), (signed.GetProperty("step").GetString(), signed.GetProperty("status").GetString()));
        Assert.Equal("initiated", retried.Str("outcome"));
        var mined = Assert.Single(retried.Structured.GetProperty("transactions").EnumerateArray());
        Assert.Equal(signed.GetProperty("hash").GetString(), mined.GetProperty("hash").GetString());
        Assert.Equal(1, await Stack.Chain.TransactionCountAsync(payer) - sentBefore);
        Assert.Equal(deposit - Price, await Stack.PendingWithdrawalAsync(key));
    }

    [Fact]
    public async Task Withdraw_IsAnErrorSayingItIsNotYours_ForAChannelTheAgentDoesNotOwn()
    {
        var unknown = "eip155:84532/0x" + new string('a', 64);

        var error = (await fixture.Client.CallAsync(Tool, new Dictionary<string, object?> { ["channel"] = unknown, ["action"] = "initiate" })).Error();

        Assert.Contains("no batch-settlement channel of yours", error, StringComparison.Ordinal);
    }

    private static string? Field(System.Text.Json.JsonElement entry, string name) => entry.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static Dictionary<string, object?> With(Dictionary<string, object?> arguments, string action) => new(arguments) { ["action"] = action };

    /// <summary>
    /// The silo's channel grain signs a deposit (5 × the price) and a first voucher (the price); the facilitator makes the deposit on
    /// chain; the grain records the server's receipt; the facilitator then claims that voucher. Returns the channel key and the deposit.
    /// </summary>
    private async Task<(string Key, BigInteger Deposit)> OpenChannelWithOneClaimedChargeAsync()
    {
        var payTo = LocalPrivateKeySigner.Generate().Address;
        var extra = new JsonObject { ["name"] = "USDC", ["version"] = "2", ["receiverAuthorizer"] = Stack.ReceiverAuthorizer, ["withdrawDelay"] = WithdrawDelay };
        // The deposit's authorization lives maxTimeoutSeconds of wall-clock time; the chain's clock runs ahead once a test skipped a delay.
        var requirement = PaymentRequirements.Create(BatchSettlementScheme.Name, Stack.Network, Price, Stack.Token, payTo, 24 * 3600, extra);
        var challenge = PaymentRequired.Create(string.Empty, new ResourceInfo("http://127.0.0.1/stream", null, null), [requirement], null);
        Assert.True(ChannelConfig.TryFromRequirements(requirement, fixture.Payer.Address, out var config, out var why, salt: PaymentChannelGrain.AgentSalt(EmbeddedGateway.AgentId)), why);
        var key = ChannelKeys.For(Stack.Network, config!.ComputeId(Stack.Network));
        var grain = fixture.Gateway.Grains.GetGrain<IPaymentChannelGrain>(key);

        var payment = await grain.PrepareRequest(new ChannelRequest(
            EmbeddedGateway.AgentId, Guid.NewGuid(), challenge.ToJson().ToJsonString(), requirement.ToJson().ToJsonString(), Text(Price), null, "USDC", 6));
        Assert.True(payment.Succeeded, payment.Message);
        var deposit = BigInteger.Parse(payment.DepositAtomic, CultureInfo.InvariantCulture);
        Assert.True(PaymentPayload.TryDecodeHeader(payment.HeaderValue, out var payload, out why), why);
        await Stack.SettleAsync(JsonNode.Parse(payload!.ToJson().ToJsonString())!.AsObject(), requirement.ToJson());

        var receipt = new SettlementResponse(true, string.Empty, Stack.Network, fixture.Payer.Address, null)
        {
            Extra = new JsonObject
            {
                ["chargedAmount"] = Text(Price),
                ["channelState"] = new JsonObject { ["balance"] = Text(deposit), ["totalClaimed"] = "0", ["chargedCumulativeAmount"] = Text(Price) },
            },
        }.EncodeHeader();
        Assert.True((await grain.CompleteRequest(payment.RequestId, receipt)).Accepted);

        var claim = new JsonObject
        {
            ["x402Version"] = 2,
            ["accepted"] = requirement.ToJson(),
            ["payload"] = new JsonObject
            {
                ["type"] = "claim",
                ["claims"] = new JsonArray(new JsonObject
                {
                    ["voucher"] = new JsonObject { ["channel"] = config.ToJson(), ["maxClaimableAmount"] = Text(Price) },
                    ["signature"] = payload.Payload["voucher"]!["signature"]!.GetValue<string>(),
                    ["totalClaimed"] = Text(Price),
                }),
            },
        };
        await Stack.SettleAsync(claim, requirement.ToJson());
        return (key, deposit);
    }

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);
}
