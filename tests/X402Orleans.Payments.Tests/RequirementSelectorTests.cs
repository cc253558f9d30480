using System.Numerics;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

public class RequirementSelectorTests
{
    private const string Dai = "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb";
    private static readonly AssetInfo DaiSepolia = new("eip155:84532", Dai, 18, "DAI");

    private static readonly PaymentPolicy SepoliaOnly = new()
    {
        Networks = ["eip155:84532"],
        Assets = [AssetInfo.UsdcBaseSepolia],
        MaxPayment = "0.01",
    };

    [Fact]
    public void Select_PicksCheapestAcceptableOption()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"30000\""),
            TestData.Requirement(amount: "\"10000\""),
            TestData.Requirement(amount: "\"20000\""));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.True(selection.Succeeded);
        Assert.Equal(new BigInteger(10000), selection.Requirement!.Amount);
        Assert.Equal(AssetInfo.UsdcBaseSepolia, selection.Asset);
        Assert.Equal(string.Empty, selection.Reason);
    }

    [Fact]
    public void Select_PicksFirstOffered_WhenPricesTie()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(network: "eip155:8453", asset: TestData.UsdcBase),
            TestData.Requirement());

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal("eip155:8453", selection.Requirement!.Network);
        Assert.Equal(AssetInfo.UsdcBase, selection.Asset);
    }

    [Fact]
    public void Select_SkipsUnacceptableOptions_AndPaysWithAcceptableOne()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"1\"", network: "eip155:1"),
            TestData.Requirement(amount: "\"1\"", scheme: "upto"),
            TestData.Requirement(amount: "\"50000\""));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal(new BigInteger(50000), selection.Requirement!.Amount);
    }

    [Fact]
    public void Select_ReturnsServersOriginalEntry_ForEchoing()
    {
        var entry = TestData.Requirement(asset: TestData.UsdcSepolia.ToLowerInvariant(), extra: "{\"name\":\"USDC\",\"version\":\"2\",\"unknown\":[1]}");
        var challenge = TestData.Challenge(entry);

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal(entry, X402Json.Serialize(selection.Requirement!.ToJson()));
    }

    [Fact]
    public void Select_RefusesWithPrices_WhenPriceExceedsMaxPayment()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"50000\""));

        var selection = RequirementSelector.Select(challenge, SepoliaOnly);

        Assert.False(selection.Succeeded);
        Assert.Null(selection.Requirement);
        Assert.Null(selection.Asset);
        Assert.Equal("price 0.05 USDC exceeds max_payment 0.01 USDC", selection.Reason);
    }

    [Fact]
    public void Select_Accepts_WhenPriceEqualsMaxPayment()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(amount: "\"10000\"")), SepoliaOnly);

        Assert.True(selection.Succeeded);
    }

    [Fact]
    public void Select_Refuses_WhenOneAtomicUnitOverMaxPayment()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(amount: "\"10001\"")), SepoliaOnly);

        Assert.Equal("price 0.010001 USDC exceeds max_payment 0.01 USDC", selection.Reason);
    }

    [Fact]
    public void Select_Refuses_WhenNetworkNotAllowed()
    {
        var challenge = TestData.Challenge(TestData.Requirement(network: "eip155:1", asset: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal("network eip155:1 is not allowed (allowed: eip155:8453, eip155:84532)", selection.Reason);
    }

    [Fact]
    public void Select_Refuses_WhenAssetNotAllowed()
    {
        var challenge = TestData.Challenge(TestData.Requirement(asset: Dai));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal($"asset {Dai} on eip155:84532 is not an allowed asset", selection.Reason);
    }

    [Fact]
    public void Select_Refuses_WhenAllowedAssetAddressIsOnAnotherNetwork()
    {
        // Base mainnet's USDC address offered on Base Sepolia is a different contract.
        var challenge = TestData.Challenge(TestData.Requirement(asset: TestData.UsdcBase));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal($"asset {TestData.UsdcBase} on eip155:84532 is not an allowed asset", selection.Reason);
    }

    [Theory]
    [InlineData("0x036cbd53842c5426634e7929541ec2318f3dcf7e")]
    [InlineData("0x036CBD53842C5426634E7929541EC2318F3DCF7E")]
    public void Select_MatchesAllowedAsset_IgnoringAddressCase(string asset)
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(asset: asset)), PaymentPolicy.Default);

        Assert.True(selection.Succeeded, selection.Reason);
        Assert.Equal(asset, selection.Requirement!.Asset);
    }

    [Fact]
    public void Select_Refuses_WhenSchemeUnsupported()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(scheme: "upto")), PaymentPolicy.Default);

        Assert.Equal("scheme 'upto' is not supported (supported: exact)", selection.Reason);
    }

    [Fact]
    public void Select_Refuses_WhenNetworkIsNotEvm()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(network: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")), PaymentPolicy.Default);

        Assert.Equal("network 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp' is not an EVM (eip155) network", selection.Reason);
    }

    [Theory]
    [InlineData("{\"version\":\"2\"}")]
    [InlineData("{\"name\":\"USDC\"}")]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("{\"name\":\"USDC\",\"version\":2}")]
    public void Select_Refuses_WhenExtraLacksNameOrVersion(string extra)
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(extra: extra)), PaymentPolicy.Default);

        Assert.Equal("the requirement's extra lacks the token's EIP-712 name and version", selection.Reason);
    }

    [Fact]
    public void Select_Refuses_WhenPayToIsNotAnAddress()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement(payTo: "alice.eth")), PaymentPolicy.Default);

        Assert.Equal("asset or payTo is not an EVM address", selection.Reason);
    }

    [Fact]
    public void Select_SaysServerOfferedNothing_WhenNoOptions()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(), PaymentPolicy.Default);

        Assert.False(selection.Succeeded);
        Assert.Equal("the server offered no payment options", selection.Reason);
    }

    [Fact]
    public void Select_ListsEachDistinctReason_WhenNothingAcceptable()
    {
        var challenge = TestData.Challenge(
            "{\"scheme\":\"exact\"}",
            TestData.Requirement(amount: "\"50000\""),
            TestData.Requirement(amount: "\"50000\""),
            TestData.Requirement(scheme: "upto"));

        var selection = RequirementSelector.Select(challenge, SepoliaOnly);

        Assert.Equal(
            "accepts[0]: missing network; price 0.05 USDC exceeds max_payment 0.01 USDC; scheme 'upto' is not supported (supported: exact)",
            selection.Reason);
    }

    [Fact]
    public void Select_Refuses_WhenMaxPaymentIsInvalid()
    {
        var selection = RequirementSelector.Select(TestData.Challenge(TestData.Requirement()), SepoliaOnly.WithMaxPayment("ten"));

        Assert.Equal("max_payment is invalid: amount 'ten' is not a plain decimal number such as \"0.01\"", selection.Reason);
    }

    [Fact]
    public void Select_ComparesAcrossAssets_ByValueNotAtomicUnits()
    {
        // 0.02 USDC (20,000 atomic) vs 0.01 DAI (10^16 atomic): the DAI option is cheaper although its integer is larger.
        var policy = SepoliaOnly with { Assets = [AssetInfo.UsdcBaseSepolia, DaiSepolia], MaxPayment = "0.05" };
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"20000\""),
            TestData.Requirement(amount: "\"10000000000000000\"", asset: Dai));

        var selection = RequirementSelector.Select(challenge, policy);

        Assert.Equal(DaiSepolia, selection.Asset);
        Assert.Equal(BigInteger.Pow(10, 16), selection.Requirement!.Amount);
    }

    [Fact]
    public void Select_ComparesAcrossAssets_WhenSmallerDecimalsIsCheaper()
    {
        // 0.02 USDC vs 0.03 DAI.
        var policy = SepoliaOnly with { Assets = [DaiSepolia, AssetInfo.UsdcBaseSepolia], MaxPayment = "0.05" };
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"30000000000000000\"", asset: Dai),
            TestData.Requirement(amount: "\"20000\""));

        var selection = RequirementSelector.Select(challenge, policy);

        Assert.Equal(AssetInfo.UsdcBaseSepolia, selection.Asset);
    }

    [Fact]
    public void Select_AppliesMaxPaymentInEachAssetsOwnDecimals()
    {
        var policy = SepoliaOnly with { Assets = [DaiSepolia], MaxPayment = "0.02" };
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"30000000000000000\"", asset: Dai));

        var selection = RequirementSelector.Select(challenge, policy);

        Assert.Equal("price 0.03 DAI exceeds max_payment 0.02 DAI", selection.Reason);
    }

    [Fact]
    public void IsAcceptable_ReturnsAsset_WhenOptionFitsPolicy()
    {
        var option = Assert.Single(TestData.Challenge(TestData.Requirement()).Accepts);

        Assert.True(RequirementSelector.IsAcceptable(option, PaymentPolicy.Default, out var asset, out var reason));
        Assert.Equal(AssetInfo.UsdcBaseSepolia, asset);
        Assert.Equal(string.Empty, reason);
    }

    [Fact]
    public void Select_AcceptsV1Option_WhenNetworkNameMapsToAllowedNetwork()
    {
        const string body = "{\"x402Version\":1,\"accepts\":[{\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"maxAmountRequired\":\"10000\","
            + "\"resource\":\"https://api.example.com/v1/weather\",\"payTo\":\"0x209693Bc6afc0C5328bA36FaF03C514EF312287C\",\"maxTimeoutSeconds\":60,"
            + "\"asset\":\"0x036CbD53842c5426634e7929541eC2318f3dCF7e\",\"extra\":{\"name\":\"USDC\",\"version\":\"2\"}}]}";
        Assert.True(PaymentRequired.TryParseBody(System.Text.Encoding.UTF8.GetBytes(body), out var challenge, out _));

        var selection = RequirementSelector.Select(challenge!, PaymentPolicy.Default);

        Assert.True(selection.Succeeded, selection.Reason);
    }

    [Fact]
    public void Describe_FormatsAtomicAmountWithSymbol()
    {
        Assert.Equal("0.05 USDC", AssetInfo.UsdcBase.Describe(50000));
    }

    private const string UptoExtra = "{\"name\":\"USDC\",\"version\":\"2\",\"facilitatorAddress\":\"0xfAC1FAC1faC1fac1FAc1FAC1FAC1faC1faC1fac1\"}";

    [Fact]
    public void Select_IgnoresUpto_WhenPolicyAllowsOnlyExact()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"1000\"", scheme: "upto", extra: UptoExtra),
            TestData.Requirement(amount: "\"5000\""));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default);

        Assert.Equal("exact", selection.Requirement!.Scheme);
        Assert.Equal(new BigInteger(5000), selection.Requirement.Amount);
    }

    [Fact]
    public void Select_PicksUpto_WhenAllowedAndItsMaximumIsCheapest()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"5000\""),
            TestData.Requirement(amount: "\"1000\"", scheme: "upto", extra: UptoExtra));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithUpto());

        Assert.Equal("upto", selection.Requirement!.Scheme);
        Assert.Equal(AssetInfo.UsdcBaseSepolia, selection.Asset);
    }

    [Fact]
    public void Select_KeepsExact_WhenUptoMaximumIsHigher()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"50000\"", scheme: "upto", extra: UptoExtra),
            TestData.Requirement(amount: "\"5000\""));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithUpto());

        Assert.Equal("exact", selection.Requirement!.Scheme);
    }

    [Fact]
    public void Select_RefusesUpto_WhenMaximumExceedsMaxPayment()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"50000\"", scheme: "upto", extra: UptoExtra));

        var selection = RequirementSelector.Select(challenge, SepoliaOnly.WithUpto());

        Assert.False(selection.Succeeded);
        Assert.Equal("price 0.05 USDC exceeds max_payment 0.01 USDC", selection.Reason);
    }

    [Fact]
    public void Select_ExplainsMissingFacilitator_WhenUptoAllowed()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"1000\"", scheme: "upto"));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithUpto());

        Assert.False(selection.Succeeded);
        Assert.Contains("lacks facilitatorAddress", selection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_PaysBatchSettlement_WhenAllowedAndTheServerOffersOnlyAChannel()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"1000\"", scheme: "batch-settlement", extra: """{"name":"USDC","version":"2","receiverAuthorizer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}"""));

        var exactOnly = RequirementSelector.Select(challenge, PaymentPolicy.Default);
        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithUpto().WithBatchSettlement());

        Assert.False(exactOnly.Succeeded);
        Assert.Equal("batch-settlement", selection.Requirement!.Scheme);
    }

    [Fact]
    public void Select_ExplainsMissingReceiverAuthorizer_WhenBatchSettlementAllowed()
    {
        var challenge = TestData.Challenge(TestData.Requirement(amount: "\"1000\"", scheme: "batch-settlement"));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithBatchSettlement());

        Assert.False(selection.Succeeded);
        Assert.Contains("receiverAuthorizer", selection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WithUpto_AddsUptoOnce_AndKeepsExact()
    {
        Assert.Equal(["exact", "upto"], PaymentPolicy.Default.WithUpto().WithUpto().Schemes);
        Assert.Equal(["exact"], PaymentPolicy.Default.Schemes);
    }

    [Fact]
    public void Select_PrefersExact_WhenUptoIsOfferedFirstAtTheSamePrice()
    {
        var challenge = TestData.Challenge(
            TestData.Requirement(amount: "\"5000\"", scheme: "upto", extra: UptoExtra),
            TestData.Requirement(amount: "\"5000\""));

        var selection = RequirementSelector.Select(challenge, PaymentPolicy.Default.WithUpto());

        Assert.Equal("exact", selection.Requirement!.Scheme);
    }
}
