using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

/// <summary>
/// batch-settlement primitives. Known answers (channel id, voucher signatures, deposit nonce) come from the official client
/// (<c>@x402/evm</c> 2.27.0, <c>tests/interop/official-batch.mjs</c>) for <see cref="TestData.PrivateKey"/> and the official server's 402.
/// </summary>
public class BatchSettlementTests
{
    private const string ReceiverAuthorizer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    private const string OfficialChannelId = "0xd4980f5442621e9c4040cf8771dda65c6aedf88ac8015de1b1c0667ff76675ad";
    private const string OfficialVoucherAt1000 = "0xfd2bba19e99dccf3b28bb02fbcb14c38114a59b3a138f18788773ec8b9ba58c40378d408921f7e07db71b6665688f871448db0485efa889c62973ae56915530b1b";
    private const string OfficialVoucherAt3000 = "0x7129dfff09a08e1a05cb1ca322e0f89323c55479890926e5fd9915d73c88fc3f490bb1a369ba3af48c94fe7a66534b4f5ec4aa103f51a7170542299f3b2825871c";
    private const string DepositSalt = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    private static string Extra(string withdrawDelay = "900", string receiverAuthorizer = $"\"{ReceiverAuthorizer}\"") =>
        $"{{\"name\":\"USDC\",\"version\":\"2\",\"receiverAuthorizer\":{receiverAuthorizer},\"withdrawDelay\":{withdrawDelay},\"minDeposit\":\"10000\"}}";

    private static PaymentRequirements Requirement(string? extra = null) =>
        TestData.Challenge(TestData.Requirement(amount: "\"1000\"", scheme: "batch-settlement", extra: extra ?? Extra())).Accepts[0];

    private static ChannelConfig Config(string? extra = null, string? salt = null)
    {
        Assert.True(ChannelConfig.TryFromRequirements(Requirement(extra), TestData.Address, out var config, out var error, salt: salt), error);
        return config!;
    }

    private static LocalPrivateKeySigner Signer() => LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

    [Fact]
    public void TryFromRequirements_FillsFieldsAsOfficialClient_ForOfficialServerExtra()
    {
        var config = Config(Extra(receiverAuthorizer: $"\"{ReceiverAuthorizer.ToLowerInvariant()}\""));

        Assert.Equal(new ChannelConfig(TestData.Address, TestData.Address, TestData.PayTo, ReceiverAuthorizer, TestData.UsdcSepolia, 900, BatchSettlementScheme.DefaultSalt), config);
        Assert.Equal(
            $"{{\"payer\":\"{TestData.Address}\",\"payerAuthorizer\":\"{TestData.Address}\",\"receiver\":\"{TestData.PayTo}\",\"receiverAuthorizer\":\"{ReceiverAuthorizer}\",\"token\":\"{TestData.UsdcSepolia}\",\"withdrawDelay\":900,\"salt\":\"{BatchSettlementScheme.DefaultSalt}\"}}",
            X402Json.Serialize(config.ToJson()));
    }

    [Theory]
    [InlineData("\"3600\"")]
    [InlineData("null")]
    public void TryFromRequirements_UsesMinimumWithdrawDelay_WhenExtraDelayIsNotANumber(string withdrawDelay)
    {
        Assert.Equal(900, Config(Extra(withdrawDelay)).WithdrawDelay);
    }

    [Fact]
    public void TryFromRequirements_TakesWithdrawDelayFromExtra_WhenANumber()
    {
        Assert.Equal(3600, Config(Extra("3600")).WithdrawDelay);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("\"0x0000000000000000000000000000000000000000\"")]
    [InlineData("\"not an address\"")]
    public void TryFromRequirements_Fails_WhenReceiverAuthorizerMissingOrZero(string receiverAuthorizer)
    {
        Assert.False(ChannelConfig.TryFromRequirements(Requirement(Extra(receiverAuthorizer: receiverAuthorizer)), TestData.Address, out _, out var error));
        Assert.Contains("receiverAuthorizer", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ComputeId_EqualsOfficialChannelId()
    {
        Assert.Equal(OfficialChannelId, Config().ComputeId("eip155:84532"));
    }

    [Fact]
    public void ComputeId_Differs_WhenSaltOrChainDiffers()
    {
        var ids = new[]
        {
            Config().ComputeId("eip155:84532"),
            Config().ComputeId("eip155:8453"),
            Config(salt: DepositSalt).ComputeId("eip155:84532"),
        };

        Assert.Equal(3, ids.Distinct().Count());
    }

    [Fact]
    public void TryRead_RoundTripsToJson()
    {
        var config = Config(salt: DepositSalt);

        Assert.True(ChannelConfig.TryRead(config.ToJson(), out var read, out var error), error);
        Assert.Equal(config, read);
    }

    [Theory]
    [InlineData(1000, OfficialVoucherAt1000)]
    [InlineData(3000, OfficialVoucherAt3000)]
    public async Task SignAsync_EqualsOfficialVoucherSignature(long ceiling, string official)
    {
        var voucher = await Voucher.SignAsync(Signer(), OfficialChannelId, ceiling, "eip155:84532");

        Assert.Equal(official, voucher.Signature);
        Assert.True(voucher.IsSignedBy(TestData.Address, "eip155:84532"));
    }

    [Fact]
    public async Task IsSignedBy_False_ForAnotherSignerCeilingOrChain()
    {
        var other = LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey);
        var voucher = await Voucher.SignAsync(other, OfficialChannelId, 1000, "eip155:84532");

        Assert.True(voucher.IsSignedBy(other.Address, "eip155:84532"));
        Assert.False(voucher.IsSignedBy(TestData.Address, "eip155:84532"));
        Assert.False((voucher with { MaxClaimableAmount = 1001 }).IsSignedBy(other.Address, "eip155:84532"));
        Assert.False(voucher.IsSignedBy(other.Address, "eip155:8453"));
    }

    [Fact]
    public async Task SignAsync_Throws_WhenCeilingAboveUint128()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Voucher.SignAsync(Signer(), OfficialChannelId, BatchSettlementScheme.MaxUint128 + 1, "eip155:84532"));
    }

    [Fact]
    public void Erc3009DepositNonce_EqualsKeccakOfAbiEncodedChannelIdAndSalt()
    {
        // viem: keccak256(encodeAbiParameters([bytes32, uint256], [channelId, BigInt(salt)]))
        Assert.Equal("0xc0cada0130f61673949135a97e9f5fc17d3f0816ac72d8290750611be42d29a5", BatchSettlementPayloads.Erc3009DepositNonce(OfficialChannelId, DepositSalt));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData(",\"assetTransferMethod\":\"eip3009\"", true)]
    [InlineData(",\"assetTransferMethod\":\"permit2\"", true)]
    [InlineData(",\"assetTransferMethod\":\"lightning\"", false)]
    public void CanPay_AcceptsOnlyKnownTransferMethods(string method, bool expected)
    {
        Assert.Equal(expected, BatchSettlementScheme.CanPay(Requirement($"{{\"receiverAuthorizer\":\"{ReceiverAuthorizer}\",\"name\":\"USDC\",\"version\":\"2\"{method}}}"), out var why));
        Assert.Equal(expected, why.Length == 0);
    }

    [Fact]
    public void CanPay_NeedsNoTokenDomain_ForPermit2Deposits()
    {
        Assert.True(BatchSettlementScheme.CanPay(Requirement($"{{\"receiverAuthorizer\":\"{ReceiverAuthorizer}\",\"assetTransferMethod\":\"permit2\"}}"), out var why), why);
        Assert.False(BatchSettlementScheme.CanPay(Requirement($"{{\"receiverAuthorizer\":\"{ReceiverAuthorizer}\"}}"), out why));
        Assert.Contains("name and version", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateDepositAsync_SignsPermit2WitnessToCollector_ThatRecoversToPayer()
    {
        var requirement = Requirement($"{{\"receiverAuthorizer\":\"{ReceiverAuthorizer}\",\"assetTransferMethod\":\"permit2\"}}");
        var challenge = TestData.Challenge(requirement.ToJson().ToJsonString());
        var config = Config(requirement.Extra!.ToJsonString());

        var deposit = await BatchSettlementPayloads.CreateDepositAsync(challenge, requirement, config, 5000, 1000, Signer(), TimeProvider.System, depositSalt: DepositSalt);

        var json = deposit.Payload["deposit"]!["authorization"]!["permit2Authorization"]!.AsObject();
        var authorization = new Permit2DepositAuthorization(
            TestData.Address, TestData.UsdcSepolia, 5000, BigInteger.Parse(json["nonce"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(json["deadline"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture), config.ComputeId("eip155:84532"));
        Assert.Equal(new BigInteger(Convert.FromHexString(DepositSalt[2..]), isUnsigned: true, isBigEndian: true), authorization.Nonce);
        Assert.Equal(BatchSettlementScheme.Permit2DepositCollector, json["spender"]!.GetValue<string>());
        Assert.True(X402Orleans.Payments.Evm.Eip712.TryRecover(authorization.BuildTypedData(84532), json["signature"]!.GetValue<string>(), out var signer));
        Assert.Equal(TestData.Address, signer);
        Assert.Null(deposit.Payload["deposit"]!["authorization"]!["erc3009Authorization"]);
    }

    [Fact]
    public void Next_IsChargedSoFarPlusRequestMaximum()
    {
        Assert.Equal(new BigInteger(4000), VoucherCeiling.Next(3000, 1000));
        Assert.Equal(new BigInteger(3000), VoucherCeiling.Refund(3000));
    }

    [Theory]
    [InlineData(5000, 4000, 1000, CeilingVerdict.Allowed)]
    [InlineData(5001, 4000, 1000, CeilingVerdict.BeyondOneRequest)]
    [InlineData(3000, 4000, 1000, CeilingVerdict.Allowed)]
    [InlineData(1000, 0, 1000, CeilingVerdict.Allowed)]
    [InlineData(-1, 0, 1000, CeilingVerdict.OutOfRange)]
    public void CheckSignable_AllowsAtMostOneRequestBeyondHighestSigned(long ceiling, long highestSigned, long requestMaximum, CeilingVerdict expected)
    {
        Assert.Equal(expected, VoucherCeiling.CheckSignable(ceiling, highestSigned, requestMaximum));
    }

    [Fact]
    public void CheckSignable_OutOfRange_WhenAboveUint128()
    {
        Assert.Equal(CeilingVerdict.OutOfRange, VoucherCeiling.CheckSignable(BatchSettlementScheme.MaxUint128 + 1, BatchSettlementScheme.MaxUint128, 1000));
    }

    [Theory]
    [InlineData("700", null, 3700)]
    [InlineData("1000", "4000", 4000)]
    [InlineData("0", "3000", 3000)]
    [InlineData(null, null, 3000)]
    public void CheckCharge_Accepts_WhenWithinMaximumAndTotalsAddUp(string? charged, string? serverTotal, long expectedTotal)
    {
        var check = VoucherCeiling.CheckCharge(3000, 1000, charged, serverTotal);

        Assert.True(check.IsAccepted, check.Reason);
        Assert.Equal(new BigInteger(expectedTotal), check.ChargedTotal);
    }

    [Theory]
    [InlineData("1001", null, ChargeVerdict.ExceedsRequestMaximum)]
    [InlineData("-1", null, ChargeVerdict.Malformed)]
    [InlineData("1.5", null, ChargeVerdict.Malformed)]
    [InlineData("0x10", null, ChargeVerdict.Malformed)]
    [InlineData("500", "3000", ChargeVerdict.TotalsDisagree)]
    [InlineData("500", "4000", ChargeVerdict.TotalsDisagree)]
    [InlineData("500", "lots", ChargeVerdict.TotalsDisagree)]
    public void CheckCharge_Refuses_WhenChargeTooHighMalformedOrTotalsDisagree(string charged, string? serverTotal, ChargeVerdict expected)
    {
        var check = VoucherCeiling.CheckCharge(3000, 1000, charged, serverTotal);

        Assert.Equal(expected, check.Verdict);
        Assert.Equal(new BigInteger(3000), check.ChargedTotal);
        Assert.NotEmpty(check.Reason);
    }

    [Theory]
    [InlineData(0, 1000, 1000)]
    [InlineData(10000, 4000, 0)]
    [InlineData(10000, 10500, 500)]
    public void Needed_IsWhatTheBalanceLacksForTheCeiling(long balance, long ceiling, long expected)
    {
        Assert.Equal(new BigInteger(expected), DepositSizing.Needed(balance, ceiling));
    }

    [Theory]
    [InlineData("{\"minDeposit\":\"10000\"}", 1000, null, 10000)]
    [InlineData("{}", 1000, null, 5000)]
    [InlineData("{\"minDeposit\":\"500\"}", 1000, null, 5000)]
    [InlineData("{\"minDeposit\":10000}", 1000, null, 5000)]
    [InlineData("{\"minDeposit\":\"10000\"}", 1000, 7000L, 7000)]
    [InlineData("{\"minDeposit\":\"10000\"}", 12000, null, 12000)]
    public void Compute_UsesHintOrFiveTimesPrice_AtLeastNeeded_CappedByLimit(string extra, long needed, long? limit, long expected)
    {
        var size = DepositSizing.Compute(1000, needed, JsonNode.Parse(extra)!.AsObject(), limit);

        Assert.True(size.Succeeded, size.Reason);
        Assert.Equal(new BigInteger(expected), size.Amount);
    }

    [Fact]
    public void Compute_Fails_WhenNeededExceedsLimit()
    {
        var size = DepositSizing.Compute(1000, 6000, null, 5000);

        Assert.False(size.Succeeded);
        Assert.Contains("5000", size.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LimitFromSpendCap_IsFiveTimesCap_AndNoneWhenUncapped()
    {
        Assert.Equal(new BigInteger(5_000_000), DepositSizing.LimitFromSpendCap(1_000_000));
        Assert.Null(DepositSizing.LimitFromSpendCap(null));
    }

    [Fact]
    public void TryDecodeHeader_ReadsChargedAmountAndChannelState_FromReceipt()
    {
        var header = TestData.Base64($"{{\"success\":true,\"transaction\":\"\",\"network\":\"eip155:84532\",\"payer\":\"{TestData.Address}\",\"extra\":{{\"chargedAmount\":\"700\",\"channelState\":{{\"channelId\":\"{OfficialChannelId}\",\"balance\":\"10000\",\"totalClaimed\":\"0\",\"withdrawRequestedAt\":0,\"refundNonce\":\"0\",\"chargedCumulativeAmount\":\"3700\"}}}}}}");

        Assert.True(BatchSettlementReceipt.TryDecodeHeader(header, out var receipt, out var error), error);
        Assert.Equal("700", receipt!.ChargedAmount);
        Assert.Equal(new ChannelState(OfficialChannelId, 10000, 0, 0, 0, 3700), receipt.ChannelState);
        Assert.Equal(ChargeVerdict.Accepted, receipt.Check(3000, 1000).Verdict);
        Assert.Equal(ChargeVerdict.TotalsDisagree, receipt.Check(2000, 1000).Verdict);
    }

    [Fact]
    public void TryDecodeHeader_Fails_WhenChargedAmountIsNotAString()
    {
        var header = TestData.Base64("{\"success\":true,\"transaction\":\"\",\"network\":\"eip155:84532\",\"extra\":{\"chargedAmount\":700}}");

        Assert.False(BatchSettlementReceipt.TryDecodeHeader(header, out _, out var error));
        Assert.Contains("chargedAmount", error, StringComparison.Ordinal);
    }

    private static PaymentRequired Corrective(string? voucherState, string charged = "2000", string error = BatchSettlementScheme.ErrCumulativeAmountMismatch)
    {
        var state = $"\"channelState\":{{\"channelId\":\"{OfficialChannelId}\",\"balance\":\"10000\",\"totalClaimed\":\"0\",\"withdrawRequestedAt\":0,\"refundNonce\":\"0\",\"chargedCumulativeAmount\":\"{charged}\"}}";
        var extra = $"{{\"name\":\"USDC\",\"version\":\"2\",\"receiverAuthorizer\":\"{ReceiverAuthorizer}\",\"withdrawDelay\":900,\"minDeposit\":\"10000\",{state}{(voucherState is null ? "" : ",\"voucherState\":" + voucherState)}}}";
        var json = TestData.ChallengeJson(TestData.Requirement(amount: "\"1000\"", scheme: "batch-settlement", extra: extra)).Replace("\"Payment required\"", $"\"{error}\"", StringComparison.Ordinal);
        Assert.True(PaymentRequired.TryDecodeHeader(TestData.Base64(json), out var challenge, out var why), why);
        return challenge!;
    }

    [Fact]
    public void Check_Adopts_WhenReturnedVoucherIsOurs()
    {
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective($"{{\"signedMaxClaimable\":\"3000\",\"signature\":\"{OfficialVoucherAt3000}\"}}"), out var corrective));

        var check = corrective!.Check(Config());

        Assert.Equal(CorrectiveVerdict.Adopt, check.Verdict);
        Assert.Equal(new BigInteger(2000), check.ChargedTotal);
        Assert.Equal(new BigInteger(3000), check.SignedMaxClaimable);
    }

    [Fact]
    public async Task Check_RefusesToAdopt_WhenVoucherSignedByAnotherKey()
    {
        var forged = await Voucher.SignAsync(LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey), OfficialChannelId, 3000, "eip155:84532");
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective($"{{\"signedMaxClaimable\":\"3000\",\"signature\":\"{forged.Signature}\"}}"), out var corrective));

        Assert.Equal(CorrectiveVerdict.NotOurVoucher, corrective!.Check(Config()).Verdict);
    }

    [Fact]
    public void Check_RefusesToAdopt_WhenVoucherIsForAnotherChannelOrCeiling()
    {
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective($"{{\"signedMaxClaimable\":\"3000\",\"signature\":\"{OfficialVoucherAt3000}\"}}"), out var ours));
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective($"{{\"signedMaxClaimable\":\"4000\",\"signature\":\"{OfficialVoucherAt3000}\"}}"), out var inflated));

        Assert.Equal(CorrectiveVerdict.NotOurVoucher, ours!.Check(Config(salt: DepositSalt)).Verdict);
        Assert.Equal(CorrectiveVerdict.NotOurVoucher, inflated!.Check(Config()).Verdict);
    }

    [Fact]
    public void Check_Inconsistent_WhenChargedAboveSignedOrBelowClaimed()
    {
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective($"{{\"signedMaxClaimable\":\"3000\",\"signature\":\"{OfficialVoucherAt3000}\"}}", charged: "3500"), out var above));
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective($"{{\"signedMaxClaimable\":\"3000\",\"signature\":\"{OfficialVoucherAt3000}\"}}"), out var ours));

        Assert.Equal(CorrectiveVerdict.Inconsistent, above!.Check(Config()).Verdict);
        Assert.Equal(CorrectiveVerdict.Inconsistent, ours!.Check(Config(), chainTotalClaimed: 2500).Verdict);
    }

    [Fact]
    public void Check_NeedsChainState_WhenNoVoucherState()
    {
        Assert.True(CorrectivePaymentRequired.TryRead(Corrective(null), out var corrective));

        Assert.Equal(CorrectiveVerdict.NeedsChainState, corrective!.Check(Config()).Verdict);
    }

    [Fact]
    public void TryRead_False_WhenErrorIsNotACumulativeMismatch()
    {
        Assert.False(CorrectivePaymentRequired.TryRead(Corrective(null, error: BatchSettlementScheme.ErrChannelBusy), out _));
    }

    [Fact]
    public async Task CreateVoucherAsync_Throws_WhenSignerIsNotPayerAuthorizer()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"1000\"", scheme: "batch-settlement", extra: Extra()));

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BatchSettlementPayloads.CreateVoucherAsync(challenge, challenge.Accepts[0], Config(), 1000, LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey)));
    }

    [Fact]
    public async Task CreateRefundAsync_SignsChargedTotalWithAcceptedFirst()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"1000\"", scheme: "batch-settlement", extra: Extra()));

        var refund = (await BatchSettlementPayloads.CreateRefundAsync(challenge, challenge.Accepts[0], Config(), 3000, Signer())).ToJson();

        Assert.Equal(["x402Version", "accepted", "payload", "resource", "extensions"], refund.Select(p => p.Key));
        Assert.Equal("refund", refund["payload"]!["type"]!.GetValue<string>());
        Assert.Equal(OfficialVoucherAt3000, refund["payload"]!["voucher"]!["signature"]!.GetValue<string>());
        Assert.Null(refund["payload"]!["amount"]);
    }
    [Theory]
    [InlineData(84532L, 0L, "0x0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(8453L, 1000L, DepositSalt)]
    [InlineData(1L, -1L, "0xFFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100")]
    public void DirectDigests_EqualTheTypedDataJsonHash(long chainId, long ceiling, string salt)
    {
        var amount = ceiling < 0 ? BatchSettlementScheme.MaxUint128 : new BigInteger(ceiling);
        var config = Config(Extra(receiverAuthorizer: $"\"{ReceiverAuthorizer.ToLowerInvariant()}\""), salt) with { Receiver = TestData.PayTo.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal) };
        var network = $"eip155:{chainId}";

        Assert.Equal(Evm.Eip712.Hash(config.BuildTypedData(chainId)), config.ComputeId(network));
        Assert.Equal(
            Evm.Eip712.Hash(Voucher.BuildTypedData(salt, amount, chainId)),
            Evm.Eip712.ToHex(Voucher.Digest(salt, amount, chainId)));
    }

    [Fact]
    public void DomainSeparator_WithoutVersion_MatchesTheTypedDataJsonHash()
    {
        var json = Evm.Eip712.TypedData("T", [("a", "uint256")], Evm.Eip712.Domain("Permit2", null, 84532, ReceiverAuthorizer), new JsonObject { ["a"] = "5" });
        var digest = Evm.Eip712.Digest(
            Evm.Eip712.DomainSeparator("Permit2", null, 84532, ReceiverAuthorizer), Evm.Eip712.HashStruct(Evm.Eip712.TypeHash("T(uint256 a)"), Evm.AbiWord.Uint(5)));

        Assert.Equal(Evm.Eip712.Hash(json), Evm.Eip712.ToHex(digest));
    }

    [Fact]
    public async Task SignAsync_SameSignature_WhenTheWalletSignsTheJson()
    {
        var direct = await Voucher.SignAsync(Signer(), OfficialChannelId, 1000, "eip155:84532");
        var viaJson = await Voucher.SignAsync(new JsonOnlySigner(Signer()), OfficialChannelId, 1000, "eip155:84532");

        Assert.Equal(OfficialVoucherAt1000, direct.Signature);
        Assert.Equal(direct.Signature, viaJson.Signature);
    }

    /// <summary>A wallet that signs only typed-data JSON (the interface's default for a <see cref="TypedDataMessage"/>).</summary>
    private sealed class JsonOnlySigner(IPaymentSigner inner) : IPaymentSigner
    {
        public string Address => inner.Address;

        public ValueTask<string> SignTypedDataAsync(string typedDataJson, CancellationToken cancellationToken = default) => inner.SignTypedDataAsync(typedDataJson, cancellationToken);

        public ValueTask<string> SignMessageAsync(string message, CancellationToken cancellationToken = default) => inner.SignMessageAsync(message, cancellationToken);
    }
}
