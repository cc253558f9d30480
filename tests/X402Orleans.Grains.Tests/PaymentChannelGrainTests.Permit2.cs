using System.Text.Json.Nodes;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Payments;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;

namespace X402Orleans.Grains.Tests;

/// <summary>Deposits by Permit2 (<c>extra.assetTransferMethod = "permit2"</c>): the transfer method, and the upto sessions' allowance rule.</summary>
public sealed partial class PaymentChannelGrainTests
{
    private ChannelRequest Permit2Request(bool sponsorsPermit = false)
    {
        var requirement = Requirement(new JsonObject { ["assetTransferMethod"] = BatchSettlementScheme.Permit2TransferMethod });
        var extensions = sponsorsPermit
            ? new JsonObject { [Eip2612Permit.ExtensionKey] = new JsonObject { ["info"] = new JsonObject { ["description"] = "gasless Permit2 approval", ["version"] = "1" } } }
            : null;
        return new(_agent, Guid.NewGuid(), ChallengeJson(requirement, extensions: extensions), requirement.ToJson().ToJsonString(), "1000", null, "USDC", 6);
    }

    // A silo with a node for the network, whose chain says Permit2 may spend `allowance` of the wallet's USDC.
    private IDisposable ChainWithPermit2Allowance(long allowance)
    {
        fixture.Services.Tokens.Allowance = allowance;
        var rules = fixture.Services.UseRules(new PaymentRules { RpcEndpoints = new Dictionary<string, Uri> { [Network] = new("http://127.0.0.1:8545") } });
        return new Restore(() =>
        {
            rules.Dispose();
            fixture.Services.Tokens.Allowance = null;
        });
    }

    [Fact]
    public async Task PrepareRequest_SignsAPermit2WitnessDepositToTheCollector_WhenTheRequirementAsksForPermit2()
    {
        var payment = await Channel.PrepareRequest(Permit2Request());

        Assert.True(payment.Succeeded, payment.Message);
        Assert.Equal(ChannelPayloadKind.Deposit, payment.Kind);
        var authorization = Payload(payment)["deposit"]!["authorization"]!.AsObject();
        Assert.Null(authorization["erc3009Authorization"]);
        var permit = authorization["permit2Authorization"]!;
        Assert.Equal(BatchSettlementScheme.Permit2DepositCollector, permit["spender"]!.GetValue<string>());
        Assert.Equal("5000", permit["permitted"]!["amount"]!.GetValue<string>());
        Assert.Equal(ChannelId, permit["witness"]!["channelId"]!.GetValue<string>());
        Assert.Equal(("0", "5000"), ((await SpendAsync()).AgentCommittedAtomic, (await SpendAsync()).AgentReservedAtomic));
    }

    [Fact]
    public async Task PrepareRequest_RefusesNamingTheOneTimeApprovalAndReservesNothing_WhenPermit2HasNoAllowanceAndNothingIsSponsored()
    {
        using var chain = ChainWithPermit2Allowance(0);

        var payment = await Channel.PrepareRequest(Permit2Request());

        Assert.Equal(ChannelRefusal.Permit2AllowanceRequired, payment.Refusal);
        Assert.Contains($"approve Permit2 {Permit2.Address} for {Usdc} once, from {fixture.Services.Wallet.Address} on {Network}", payment.Message, StringComparison.Ordinal);
        Assert.Equal("0", (await Channel.GetStatus()).HighestSignedAtomic);
        Assert.Equal("0", (await SpendAsync()).AgentReservedAtomic);
    }

    [Fact]
    public async Task PrepareRequest_AddsAnEip2612PermitForExactlyTheDeposit_WhenPermit2HasNoAllowanceAndThe402SponsorsIt()
    {
        using var chain = ChainWithPermit2Allowance(0);

        var payment = await Channel.PrepareRequest(Permit2Request(sponsorsPermit: true));

        Assert.True(payment.Succeeded, payment.Message);
        Assert.True(X402Orleans.Payments.Wire.PaymentPayload.TryDecodeHeader(payment.HeaderValue, out var payload, out _));
        var info = payload!.Extensions![Eip2612Permit.ExtensionKey]!["info"]!;
        Assert.Equal(("5000", Permit2.Address), (info["amount"]!.GetValue<string>(), info["spender"]!.GetValue<string>()));
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
