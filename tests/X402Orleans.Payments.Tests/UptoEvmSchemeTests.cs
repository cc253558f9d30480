using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Nethereum.ABI;
using Nethereum.Signer.EIP712;
using Nethereum.Util;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

/// <summary>
/// The upto client: typed data against a digest built here from EIP-712 and Permit2's type strings (ABI-encoded by hand) and against
/// viem 2.57.20 with the official @x402/evm 2.27.0 type constants (<c>uptoPermit2WitnessTypes</c>); payload shape; refusals.
/// </summary>
public class UptoEvmSchemeTests
{
    private const string Facilitator = "0xfAC1FAC1faC1fac1FAc1FAC1FAC1faC1faC1fac1";
    private const string Extra = "{\"name\":\"USDC\",\"version\":\"2\",\"facilitatorAddress\":\"" + Facilitator + "\"}";
    private static readonly BigInteger FixedNonce = BigInteger.Parse("123456789012345678901234567890", CultureInfo.InvariantCulture);

    // viem hashTypedData / privateKeyToAccount(TestData.PrivateKey).signTypedData with uptoPermit2WitnessTypes, chain 84532,
    // USDC Sepolia, amount 50000, FixedNonce, deadline NowUnix + 300, to PayTo, facilitator Facilitator, validAfter 0.
    private const string ViemPermitDigest = "0xf237aeedb5bee9739e700fa2a84c7c360858b9f339c53b10c38a2feb8943896e";
    private const string ViemPermitSignature = "0xffd114586036341b31616cd8498339b2a0d9920b18c131cbe08f711ea2ac60e37d173d74d7759fe623c3fd55100cec539d2f12ba44c51ecf1b4c1f9a9e97d5161b";

    // Same key: EIP-2612 Permit {owner, spender Permit2, value 50000, nonce 7, deadline NowUnix + 300} under {USDC, 2, 84532, USDC Sepolia}.
    private const string ViemEip2612Digest = "0x4e65340321ea8c03546134a27b5339d27523c84be5f0d44457f7ae230ea75c08";
    private const string ViemEip2612Signature = "0x52afa881402ea1804188aa75708f49530ae66f031e77dd4ff855bd07a6d69fed4aa2afa6e93d5e0ff406b8ac372ce83e7e1428e38324c22c7786958d999d5e6d1b";

    private const string DeclaredEip2612 = "{\"info\":{\"description\":\"The facilitator accepts EIP-2612 gasless Permit to `Permit2` canonical contract.\",\"version\":\"1\"},\"schema\":{\"type\":\"object\"}}";

    private readonly FakeTimeProvider _time = new(TestData.Now);
    private readonly CountingSigner _signer = new(LocalPrivateKeySigner.FromHex(TestData.PrivateKey));

    private static readonly UptoPermit2Authorization Authorization = new(
        TestData.Address, TestData.UsdcSepolia, 50000, Permit2.UptoProxyAddress, FixedNonce, TestData.NowUnix + 300, TestData.PayTo, Facilitator, 0);

    private static byte[] Keccak(byte[] data) => Sha3Keccack.Current.CalculateHash(data);

    private static byte[] Keccak(string text) => Keccak(Encoding.UTF8.GetBytes(text));

    private static string Hex(byte[] bytes) => "0x" + Convert.ToHexStringLower(bytes);

    private static byte[] Digest(string typedDataJson) => Keccak(Eip712TypedDataSigner.Current.EncodeTypedData(typedDataJson));

    /// <summary>EIP-712 digest of the upto permit, from Permit2's type strings and ABI encoding only.</summary>
    private static byte[] SpecDigest(BigInteger chainId, UptoPermit2Authorization a)
    {
        var abi = new ABIEncode();
        var domainSeparator = Keccak(abi.GetABIEncoded(
            new ABIValue("bytes32", Keccak("EIP712Domain(string name,uint256 chainId,address verifyingContract)")),
            new ABIValue("bytes32", Keccak("Permit2")),
            new ABIValue("uint256", chainId),
            new ABIValue("address", Permit2.Address)));
        var tokenPermissions = Keccak(abi.GetABIEncoded(
            new ABIValue("bytes32", Keccak("TokenPermissions(address token,uint256 amount)")),
            new ABIValue("address", a.Token),
            new ABIValue("uint256", a.Amount)));
        var witness = Keccak(abi.GetABIEncoded(
            new ABIValue("bytes32", Keccak("Witness(address to,address facilitator,uint256 validAfter)")),
            new ABIValue("address", a.To),
            new ABIValue("address", a.Facilitator),
            new ABIValue("uint256", new BigInteger(a.ValidAfter))));
        var typeHash = Keccak("PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,Witness witness)"
            + "TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)");
        var structHash = Keccak(abi.GetABIEncoded(
            new ABIValue("bytes32", typeHash),
            new ABIValue("bytes32", tokenPermissions),
            new ABIValue("address", a.Spender),
            new ABIValue("uint256", a.Nonce),
            new ABIValue("uint256", new BigInteger(a.Deadline)),
            new ABIValue("bytes32", witness)));
        return Keccak([0x19, 0x01, .. domainSeparator, .. structHash]);
    }

    private static string UptoEntry(string extra = Extra, string amount = "\"50000\"") => TestData.Requirement(amount: amount, scheme: "upto", extra: extra);

    private static PaymentRequired Challenge(string entry, string extensions = "{\"bazaar\":{\"discoverable\":true}}")
    {
        var json = $"{{\"x402Version\":2,\"error\":\"Payment required\",\"resource\":{TestData.ResourceJson},\"accepts\":[{entry}],\"extensions\":{extensions}}}";
        Assert.True(PaymentRequired.TryDecodeHeader(TestData.Base64(json), out var challenge, out var error), error);
        return challenge!;
    }

    private Task<PaymentPayload> PayAsync(PaymentRequired challenge, IPermit2TokenReader? tokens = null) =>
        UptoEvmScheme.CreatePaymentAsync(challenge, challenge.Accepts[0], _signer, _time, new UptoPaymentOptions { Tokens = tokens, NonceFactory = () => FixedNonce });

    [Fact]
    public void SpecDigest_MatchesViem_ForFixedPermit()
    {
        Assert.Equal(ViemPermitDigest, Hex(SpecDigest(84532, Authorization)));
    }

    [Fact]
    public void BuildTypedData_EncodesToSpecDigest()
    {
        Assert.Equal(ViemPermitDigest, Hex(Digest(Authorization.BuildTypedData(84532))));
    }

    [Fact]
    public void BuildTypedData_EncodesToSpecDigest_ForMaximalNonceAndAmount()
    {
        var extreme = Authorization with { Nonce = AtomicAmount.MaxUint256, Amount = AtomicAmount.MaxUint256 };

        Assert.Equal(Hex(SpecDigest(8453, extreme)), Hex(Digest(extreme.BuildTypedData(8453))));
    }

    [Fact]
    public async Task SignTypedDataAsync_EqualsViemSignature_ForUptoPermit()
    {
        var signature = await _signer.SignTypedDataAsync(Authorization.BuildTypedData(84532));

        Assert.Equal(ViemPermitSignature, signature);
    }

    [Fact]
    public async Task Eip2612Permit_EncodesAndSignsAsViem()
    {
        var permit = new Eip2612Permit(TestData.Address, TestData.UsdcSepolia, 50000, 7, TestData.NowUnix + 300);
        var typedData = permit.BuildTypedData("USDC", "2", 84532);

        Assert.Equal(ViemEip2612Digest, Hex(Digest(typedData)));
        Assert.Equal(ViemEip2612Signature, await _signer.SignTypedDataAsync(typedData));
    }

    [Fact]
    public async Task CreatePaymentAsync_WritesOfficialPayload_FromRequirementClockAndNonce()
    {
        var challenge = Challenge(UptoEntry());

        var payment = await PayAsync(challenge);

        Assert.Equal(
            "{\"signature\":\"" + ViemPermitSignature + "\",\"permit2Authorization\":{\"from\":\"" + TestData.Address + "\",\"permitted\":{\"token\":\"" + TestData.UsdcSepolia
            + "\",\"amount\":\"50000\"},\"spender\":\"0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002\",\"nonce\":\"123456789012345678901234567890\",\"deadline\":\""
            + (TestData.NowUnix + 300).ToString(CultureInfo.InvariantCulture) + "\",\"witness\":{\"to\":\"" + TestData.PayTo + "\",\"facilitator\":\"" + Facilitator + "\",\"validAfter\":\"0\"}}}",
            X402Json.Serialize(payment.Payload));
        Assert.Equal(UptoEntry(), X402Json.Serialize(payment.Accepted));
        Assert.Equal("{\"bazaar\":{\"discoverable\":true}}", X402Json.Serialize(payment.Extensions!));
        Assert.Equal(2, payment.X402Version);
    }

    [Fact]
    public async Task CreatePaymentAsync_ChecksumsAddresses_WhenServerWroteThemLowerCase()
    {
        var entry = TestData.Requirement(amount: "\"50000\"", scheme: "upto", asset: TestData.UsdcSepolia.ToLowerInvariant(), payTo: TestData.PayTo.ToLowerInvariant(),
            extra: Extra.Replace(Facilitator, Facilitator.ToLowerInvariant(), StringComparison.Ordinal));

        var payment = await PayAsync(Challenge(entry));

        Assert.Equal(ViemPermitSignature, payment.Payload["signature"]!.GetValue<string>());
        Assert.Equal(entry, X402Json.Serialize(payment.Accepted));
    }

    [Fact]
    public async Task CreatePaymentAsync_DrawsFreshRandomNonces_WhenNoneInjected()
    {
        var challenge = Challenge(UptoEntry());

        var first = await UptoEvmScheme.CreatePaymentAsync(challenge, challenge.Accepts[0], _signer, _time);
        var second = await UptoEvmScheme.CreatePaymentAsync(challenge, challenge.Accepts[0], _signer, _time);

        var nonces = new[] { first, second }.Select(p => BigInteger.Parse(p.Payload["permit2Authorization"]!["nonce"]!.GetValue<string>(), CultureInfo.InvariantCulture)).ToArray();
        Assert.NotEqual(nonces[0], nonces[1]);
        Assert.All(nonces, n => Assert.InRange(n, BigInteger.Zero, AtomicAmount.MaxUint256));
    }

    [Theory]
    [InlineData("{\"name\":\"USDC\",\"version\":\"2\"}", "lacks facilitatorAddress")]
    [InlineData("{\"facilitatorAddress\":null}", "lacks facilitatorAddress")]
    [InlineData("{\"facilitatorAddress\":\"0x1234\"}", "facilitatorAddress is not an EVM address")]
    [InlineData("{\"facilitatorAddress\":42}", "facilitatorAddress is not an EVM address")]
    public async Task CreatePaymentAsync_ThrowsWithoutSigning_WhenFacilitatorAddressMissingOrInvalid(string extra, string expected)
    {
        var challenge = Challenge(UptoEntry(extra: extra));

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => PayAsync(challenge));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was signed", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _signer.Calls);
    }

    [Fact]
    public async Task CreatePaymentAsync_Throws_WhenRequirementIsExact()
    {
        var challenge = Challenge(TestData.Requirement());

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => PayAsync(challenge));

        Assert.Contains("scheme 'exact' is not upto", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _signer.Calls);
    }

    [Fact]
    public async Task CreatePaymentAsync_AddsEip2612PermitForTheMaximum_WhenAllowanceShortAndServerSponsors()
    {
        var challenge = Challenge(UptoEntry(), "{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}");
        var tokens = new FakeTokens(allowance: 10, permitNonce: 7);

        var payment = await PayAsync(challenge, tokens);

        var extension = payment.Extensions!["eip2612GasSponsoring"]!.AsObject();
        // Server-declared fields first and kept (description, version); the client's added in the official order.
        Assert.Equal(
            "{\"info\":{\"description\":\"The facilitator accepts EIP-2612 gasless Permit to `Permit2` canonical contract.\",\"version\":\"1\",\"from\":\"" + TestData.Address
            + "\",\"asset\":\"" + TestData.UsdcSepolia + "\",\"spender\":\"0x000000000022D473030F116dDEE9F6B43aC78BA3\",\"amount\":\"50000\",\"nonce\":\"7\",\"deadline\":\""
            + (TestData.NowUnix + 300).ToString(CultureInfo.InvariantCulture) + "\",\"signature\":\"" + ViemEip2612Signature + "\"},\"schema\":{\"type\":\"object\"}}",
            X402Json.Serialize(extension));
        Assert.Equal(ViemPermitSignature, payment.Payload["signature"]!.GetValue<string>());
        Assert.Equal([(TestData.UsdcSepolia, TestData.Address)], tokens.NonceReads);
    }

    [Fact]
    public async Task CreatePaymentAsync_AddsNoExtension_WhenAllowanceCoversMaximum()
    {
        var challenge = Challenge(UptoEntry(), "{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}");

        var payment = await PayAsync(challenge, new FakeTokens(allowance: 50000, permitNonce: 7));

        Assert.Equal("{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}", X402Json.Serialize(payment.Extensions!));
        Assert.Equal(1, _signer.Calls);
    }

    [Fact]
    public async Task CreatePaymentAsync_SignsPermit_WhenAllowanceUnreadableAndServerSponsors()
    {
        var challenge = Challenge(UptoEntry(), "{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}");

        var payment = await PayAsync(challenge, new FakeTokens(allowance: null, permitNonce: 7, allowanceFails: true));

        Assert.Equal(ViemEip2612Signature, payment.Extensions!["eip2612GasSponsoring"]!["info"]!["signature"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreatePaymentAsync_SendsPlainPermit_WhenNoChainReaderEvenIfServerSponsors()
    {
        var challenge = Challenge(UptoEntry(), "{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}");

        var payment = await PayAsync(challenge);

        Assert.Equal("{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}", X402Json.Serialize(payment.Extensions!));
    }

    [Theory]
    [InlineData("{}", "")]
    [InlineData("{\"erc20ApprovalGasSponsoring\":{\"info\":{\"version\":\"1\"}}}", "the server offers erc20ApprovalGasSponsoring")]
    public async Task CreatePaymentAsync_ThrowsNamingOneTimeApproval_WhenAllowanceShortAndNoPermitPossible(string extensions, string alsoExpected)
    {
        var challenge = Challenge(UptoEntry(), extensions);

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => PayAsync(challenge, new FakeTokens(allowance: 0, permitNonce: 7)));

        Assert.Contains($"approve Permit2 0x000000000022D473030F116dDEE9F6B43aC78BA3 for {TestData.UsdcSepolia} once, from {TestData.Address} on eip155:84532", ex.Message, StringComparison.Ordinal);
        Assert.Contains(alsoExpected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TestData.PrivateKey[2..], ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, _signer.Calls);
    }

    [Fact]
    public async Task CreatePaymentAsync_ThrowsWithoutSigning_WhenPermitNonceUnreadable()
    {
        var challenge = Challenge(UptoEntry(), "{\"eip2612GasSponsoring\":" + DeclaredEip2612 + "}");

        var ex = await Assert.ThrowsAsync<X402ProtocolException>(() => PayAsync(challenge, new FakeTokens(allowance: 0, permitNonce: null)));

        Assert.Contains("nonce", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _signer.Calls);
    }

    [Fact]
    public void CanPay_Refuses_WhenVersionOne()
    {
        var v1 = "{\"x402Version\":1,\"error\":\"\",\"accepts\":[{\"scheme\":\"upto\",\"network\":\"base-sepolia\",\"maxAmountRequired\":\"1\",\"resource\":\"https://x/\",\"payTo\":\""
            + TestData.PayTo + "\",\"maxTimeoutSeconds\":60,\"asset\":\"" + TestData.UsdcSepolia + "\",\"extra\":" + Extra + "}]}";
        Assert.True(PaymentRequired.TryParseBody(Encoding.UTF8.GetBytes(v1), out var challenge, out var error), error);

        Assert.False(UptoEvmScheme.CanPay(challenge!.Accepts[0], out var why));
        Assert.Contains("version 2", why, StringComparison.Ordinal);
    }

    private sealed class CountingSigner(IPaymentSigner inner) : IPaymentSigner
    {
        public int Calls { get; private set; }

        public string Address => inner.Address;

        public ValueTask<string> SignTypedDataAsync(string typedDataJson, CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.SignTypedDataAsync(typedDataJson, cancellationToken);
        }

        public ValueTask<string> SignMessageAsync(string message, CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.SignMessageAsync(message, cancellationToken);
        }
    }

    private sealed class FakeTokens(BigInteger? allowance, BigInteger? permitNonce, bool allowanceFails = false) : IPermit2TokenReader
    {
        public List<(string Token, string Owner)> NonceReads { get; } = [];

        public ValueTask<BigInteger?> ReadPermit2AllowanceAsync(string network, string token, string owner, CancellationToken cancellationToken) =>
            allowanceFails ? throw new HttpRequestException("rpc down") : ValueTask.FromResult(allowance);

        public ValueTask<BigInteger> ReadPermitNonceAsync(string network, string token, string owner, CancellationToken cancellationToken)
        {
            NonceReads.Add((token, owner));
            return permitNonce is { } n ? ValueTask.FromResult(n) : throw new HttpRequestException("rpc down");
        }
    }

    [Fact]
    public async Task TryVerify_AcceptsOwnPayment_AndNamesThePayerAndNonce()
    {
        var challenge = Challenge(UptoEntry());
        var payment = await PayAsync(challenge);

        Assert.True(UptoEvmScheme.TryVerify(payment, challenge.Accepts[0], TestData.Now, out var authorization, out var error), error);
        Assert.Equal(TestData.Address, authorization!.From);
        Assert.Equal(FixedNonce, authorization.Nonce);
        Assert.Equal(TestData.NowUnix + 300, authorization.Deadline);
    }

    [Fact]
    public async Task TryVerify_Refuses_WhenTheMaximumWasChanged()
    {
        var challenge = Challenge(UptoEntry());
        var payment = await PayAsync(challenge);
        payment.Payload["permit2Authorization"]!["permitted"]!["amount"] = "50001";

        Assert.False(UptoEvmScheme.TryVerify(payment, Challenge(UptoEntry(amount: "\"50001\"")).Accepts[0], TestData.Now, out _, out var error));
        Assert.Equal("invalid_upto_evm_signature", error);
    }

    [Fact]
    public async Task TryVerify_Refuses_WhenTheDeadlinePassed()
    {
        var challenge = Challenge(UptoEntry());
        var payment = await PayAsync(challenge);

        Assert.False(UptoEvmScheme.TryVerify(payment, challenge.Accepts[0], TestData.Now.AddSeconds(300), out _, out var error));
        Assert.Equal("invalid_upto_evm_authorization_window", error);
    }
}
