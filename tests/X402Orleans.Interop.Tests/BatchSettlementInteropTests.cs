using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Wire;
using static X402Orleans.Interop.Tests.Interop;

namespace X402Orleans.Interop.Tests;

/// <summary>
/// Our batch-settlement payloads against the official client's (<c>official-batch.mjs</c>, same key, same 402 from the official server,
/// same clock and randomness: viem signs deterministically, so every byte must match) and the official resource server's local voucher
/// verification and corrective 402.
/// </summary>
public sealed class BatchSettlementInteropTests
{
    private const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    private const string Usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

    /// <summary>hardhat's second account key: the facilitator's receiver authorizer (never holds funds).</summary>
    private const string ReceiverAuthorizerKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    private const long NowMs = 1_790_000_000_123;
    private const string Random = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    /// <summary>The token's EIP-2612 nonce of the payer on the oracle's chain view.</summary>
    private static readonly BigInteger PermitNonce = 3;

    /// <summary>The official client's default spend cap for a default asset ($1 of 6-decimal USDC), from which it derives its deposit limit.</summary>
    private static readonly BigInteger OfficialSpendCap = 1_000_000;

    private static async Task<string> OfficialChallengeAsync(string? minDeposit = null, bool permit2 = false, bool sponsorsPermit = false)
    {
        var input = new JsonObject
        {
            ["op"] = "challenge",
            ["payTo"] = PayTo,
            ["asset"] = Usdc,
            ["amount"] = "1000",
            ["network"] = "eip155:84532",
            ["receiverAuthorizerKey"] = ReceiverAuthorizerKey,
        };
        if (minDeposit is not null)
        {
            input["minDeposit"] = minDeposit;
        }

        if (permit2)
        {
            input["assetTransferMethod"] = BatchSettlementScheme.Permit2TransferMethod;
        }

        if (sponsorsPermit)
        {
            input["eip2612GasSponsoring"] = true;
        }

        return (await NodeScript.RunAsync("official-batch.mjs", input))["paymentRequiredHeader"]!.GetValue<string>();
    }

    private static Task<JsonObject> OfficialClientAsync(string challengeHeader, string charged, string balance, BigInteger? allowance = null) =>
        NodeScript.RunAsync("official-batch.mjs", new JsonObject
        {
            ["op"] = "client",
            ["privateKey"] = PrivateKey,
            ["paymentRequiredHeader"] = challengeHeader,
            ["nowMs"] = NowMs,
            ["random"] = Random,
            ["channel"] = new JsonObject { ["chargedCumulativeAmount"] = charged, ["balance"] = balance },
            ["chain"] = allowance is null ? null : new JsonObject { ["allowance"] = allowance.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), ["permitNonce"] = PermitNonce.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });

    private static Task<JsonObject> OfficialVerifyAsync(string paymentHeader, string challengeHeader, JsonObject channel) =>
        NodeScript.RunAsync("official-batch.mjs", new JsonObject
        {
            ["op"] = "verify",
            ["paymentSignatureHeader"] = paymentHeader,
            ["paymentRequiredHeader"] = challengeHeader,
            ["receiverAuthorizerKey"] = ReceiverAuthorizerKey,
            ["channel"] = channel,
        });

    private static (PaymentRequired Challenge, PaymentRequirements Requirements, ChannelConfig Config) Ours(string challengeHeader)
    {
        Assert.True(PaymentRequired.TryDecodeHeader(challengeHeader, out var challenge, out var error), error);
        var requirements = challenge!.Accepts.Single(a => a.Scheme == BatchSettlementScheme.Name);
        Assert.True(ChannelConfig.TryFromRequirements(requirements, Address, out var config, out error), error);
        return (challenge, requirements, config!);
    }

    private static string Header(JsonObject official, string name) => official[name]!["header"]!.GetValue<string>();

    [Fact]
    public async Task ComputeId_EqualsOfficialChannelIdAndConfig_ForOfficialChallenge()
    {
        var header = await OfficialChallengeAsync();
        var official = await OfficialClientAsync(header, "3000", "10000");

        var (_, requirements, config) = Ours(header);

        Assert.Equal(official["channelId"]!.GetValue<string>(), config.ComputeId(requirements.Network));
        Assert.Equal(X402Json.Serialize(official["channelConfig"]!), X402Json.Serialize(config.ToJson()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("7000000")]
    public async Task CreateDepositAsync_IsByteIdenticalToOfficialClient_ForFirstRequest(string? minDeposit)
    {
        var header = await OfficialChallengeAsync(minDeposit);
        var official = await OfficialClientAsync(header, "3000", "10000");
        var (challenge, requirements, config) = Ours(header);

        var ceiling = VoucherCeiling.Next(0, requirements.Amount);
        var size = DepositSizing.Compute(requirements.Amount, DepositSizing.Needed(0, ceiling), requirements.Extra, DepositSizing.LimitFromSpendCap(OfficialSpendCap));
        Assert.True(size.Succeeded, size.Reason);
        var deposit = await BatchSettlementPayloads.CreateDepositAsync(challenge, requirements, config, size.Amount, ceiling, Signer(), new FixedTime(NowMs), depositSalt: Random);

        AssertJsonEqual(DecodeBase64Json(Header(official, "deposit")), deposit.ToJson());
        Assert.Equal(Header(official, "deposit"), deposit.EncodeHeader());
    }

    /// <summary>
    /// A route with <c>extra.assetTransferMethod = "permit2"</c>: the deposit is a Permit2 witness transfer to the Permit2DepositCollector
    /// (nonce = the client's 32 random bytes). Without a chain view nothing is read; with one, Permit2's allowance decides whether an
    /// EIP-2612 permit for exactly the deposit rides along (only when the 402 sponsors it and the allowance is short).
    /// </summary>
    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(true, "0")]
    [InlineData(true, "10000")]
    [InlineData(false, "1000000")]
    public async Task CreateDepositAsync_IsByteIdenticalToOfficialClient_ForPermit2Deposit(bool sponsorsPermit, string? allowance)
    {
        var header = await OfficialChallengeAsync(permit2: true, sponsorsPermit: sponsorsPermit);
        BigInteger? known = allowance is null ? null : BigInteger.Parse(allowance, System.Globalization.CultureInfo.InvariantCulture);
        var official = await OfficialClientAsync(header, "3000", "10000", known);
        var (challenge, requirements, config) = Ours(header);

        var ceiling = VoucherCeiling.Next(0, requirements.Amount);
        var size = DepositSizing.Compute(requirements.Amount, DepositSizing.Needed(0, ceiling), requirements.Extra, DepositSizing.LimitFromSpendCap(OfficialSpendCap));
        Assert.True(size.Succeeded, size.Reason);
        var deposit = await BatchSettlementPayloads.CreateDepositAsync(
            challenge, requirements, config, size.Amount, ceiling, Signer(), new FixedTime(NowMs), depositSalt: Random,
            permit2Tokens: known is null ? null : new FixedPermit2Tokens(known.Value, PermitNonce));

        AssertJsonEqual(DecodeBase64Json(Header(official, "deposit")), deposit.ToJson());
        Assert.Equal(Header(official, "deposit"), deposit.EncodeHeader());
        Assert.Equal(BatchSettlementScheme.Permit2DepositCollector, deposit.Payload["deposit"]!["authorization"]!["permit2Authorization"]!["spender"]!.GetValue<string>());
        Assert.Equal(sponsorsPermit && known < size.Amount, deposit.Extensions?["eip2612GasSponsoring"]?["info"]?["signature"] is not null);
    }

    [Fact]
    public async Task CreateDepositAsync_RefusesNamingTheApproval_WhenPermit2HasNoAllowanceAndNothingIsSponsored()
    {
        var header = await OfficialChallengeAsync(permit2: true);
        var (challenge, requirements, config) = Ours(header);

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => BatchSettlementPayloads.CreateDepositAsync(
            challenge, requirements, config, 10_000, 1000, Signer(), new FixedTime(NowMs), depositSalt: Random, permit2Tokens: new FixedPermit2Tokens(0, PermitNonce)));

        Assert.Contains($"approve Permit2 0x000000000022D473030F116dDEE9F6B43aC78BA3 for {Usdc} once, from {Address} on eip155:84532", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateVoucherAsync_IsByteIdenticalToOfficialClient_ForFundedChannel()
    {
        var header = await OfficialChallengeAsync();
        var official = await OfficialClientAsync(header, "3000", "10000");
        var (challenge, requirements, config) = Ours(header);

        var voucher = await BatchSettlementPayloads.CreateVoucherAsync(challenge, requirements, config, VoucherCeiling.Next(3000, requirements.Amount), Signer());

        Assert.Equal(Header(official, "voucher"), voucher.EncodeHeader());
    }

    [Fact]
    public async Task CreateRefundAsync_IsByteIdenticalToOfficialRefundRequest()
    {
        var header = await OfficialChallengeAsync();
        var official = await OfficialClientAsync(header, "3000", "10000");
        var (challenge, requirements, config) = Ours(header);

        var refund = await BatchSettlementPayloads.CreateRefundAsync(challenge, requirements, config, 3000, Signer());

        Assert.Equal(Header(official, "refund"), refund.EncodeHeader());
    }

    [Fact]
    public async Task CreateVoucherAsync_IsVerifiedLocallyByOfficialServer_WhenCeilingIsChargedPlusPrice()
    {
        var header = await OfficialChallengeAsync();
        var (challenge, requirements, config) = Ours(header);
        var voucher = await BatchSettlementPayloads.CreateVoucherAsync(challenge, requirements, config, VoucherCeiling.Next(3000, requirements.Amount), Signer());

        var verdict = await OfficialVerifyAsync(voucher.EncodeHeader(), header, new JsonObject { ["chargedCumulativeAmount"] = "3000", ["balance"] = "10000", ["totalClaimed"] = "0" });

        Assert.True(verdict["verifyResponse"]!["isValid"]!.GetValue<bool>(), verdict.ToJsonString());
        Assert.True(verdict["local"]!.GetValue<bool>(), verdict.ToJsonString());
        Assert.Equal(Address, verdict["verifyResponse"]!["payer"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateVoucherAsync_IsRefusedByOfficialServer_WhenCeilingExceedsBalance()
    {
        var header = await OfficialChallengeAsync();
        var (challenge, requirements, config) = Ours(header);
        var voucher = await BatchSettlementPayloads.CreateVoucherAsync(challenge, requirements, config, VoucherCeiling.Next(3000, requirements.Amount), Signer());

        var verdict = await OfficialVerifyAsync(voucher.EncodeHeader(), header, new JsonObject { ["chargedCumulativeAmount"] = "3000", ["balance"] = "3500", ["totalClaimed"] = "0" });

        Assert.False(verdict["verifyResponse"]!["isValid"]!.GetValue<bool>());
        Assert.Equal(BatchSettlementScheme.ErrCumulativeExceedsBalance, verdict["verifyResponse"]!["invalidReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Check_AdoptsOfficialCorrective402_OnlyWhenItsVoucherIsOurs()
    {
        var header = await OfficialChallengeAsync();
        var (challenge, requirements, config) = Ours(header);
        var held = await Voucher.SignAsync(Signer(), config.ComputeId(requirements.Network), 3000, requirements.Network);
        // We believe 3000 was charged; the server says 2000 (and holds our voucher up to 3000).
        var stale = await BatchSettlementPayloads.CreateVoucherAsync(challenge, requirements, config, VoucherCeiling.Next(3000, requirements.Amount), Signer());

        var verdict = await OfficialVerifyAsync(stale.EncodeHeader(), header, new JsonObject
        {
            ["chargedCumulativeAmount"] = "2000",
            ["balance"] = "10000",
            ["totalClaimed"] = "0",
            ["signedMaxClaimable"] = "3000",
            ["signature"] = held.Signature,
        });

        Assert.Equal(BatchSettlementScheme.ErrCumulativeAmountMismatch, verdict["verifyResponse"]!["invalidReason"]!.GetValue<string>());
        Assert.True(PaymentRequired.TryDecodeHeader(verdict["correctivePaymentRequiredHeader"]!.GetValue<string>(), out var corrective402, out var error), error);
        Assert.True(CorrectivePaymentRequired.TryRead(corrective402!, out var corrective));
        var check = corrective!.Check(config);
        Assert.Equal(CorrectiveVerdict.Adopt, check.Verdict);
        Assert.Equal(new BigInteger(2000), check.ChargedTotal);
        Assert.Equal(new BigInteger(3000), check.SignedMaxClaimable);
        Assert.Equal(CorrectiveVerdict.NotOurVoucher, corrective.Check(config with { Salt = Random }).Verdict);
    }

    private sealed class FixedTime(long unixMs) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
    }
}
