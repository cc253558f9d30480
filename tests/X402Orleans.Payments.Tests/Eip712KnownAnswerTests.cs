using System.Numerics;
using System.Text;
using Nethereum.ABI;
using Nethereum.Signer;
using Nethereum.Signer.EIP712;
using Nethereum.Util;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Payments.Tests;

/// <summary>
/// Checks the EIP-712 typed data against a digest built here from the specification (hashStruct of ABI-encoded fields), and
/// against values computed by viem 2.57.20 (the official client's signing library) for the same authorization and key.
/// </summary>
public class Eip712KnownAnswerTests
{
    private const string Nonce = "0x1111111111111111111111111111111111111111111111111111111111111111";

    // viem hashTypedData / account.signTypedData over the authorization below (tests/interop's node_modules).
    private const string ViemDigest = "0x278abb1ff15539134d966b94fb51a87d708af76802183b9b1c819d69121abc3f";
    private const string ViemSignature = "0x0d43d0c3faaed2f8913f763652d63fc61bf6041ab00907064bdc23dddb11ba582d58d0f3815d0d1f8fbea8887dcebbee2a59ca409016abce6b16a7a4dcb3806a1b";

    // EIP-3009's TRANSFER_WITH_AUTHORIZATION_TYPEHASH as published in USDC's FiatTokenV2.
    private const string TransferWithAuthorizationTypeHash = "0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267";

    private static readonly TransferAuthorization Authorization =
        new(TestData.Address, TestData.PayTo, 10000, TestData.NowUnix - 600, TestData.NowUnix + 300, Nonce);

    private static byte[] Keccak(byte[] data) => Sha3Keccack.Current.CalculateHash(data);

    private static byte[] Keccak(string text) => Keccak(Encoding.UTF8.GetBytes(text));

    private static string Hex(byte[] bytes) => "0x" + Convert.ToHexStringLower(bytes);

    /// <summary>keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(message)), per EIP-712, without Nethereum's typed-data code.</summary>
    private static byte[] SpecDigest(string name, string version, BigInteger chainId, string verifyingContract, TransferAuthorization auth)
    {
        var abi = new ABIEncode();
        var domainTypeHash = Keccak("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
        var domainSeparator = Keccak(abi.GetABIEncoded(
            new ABIValue("bytes32", domainTypeHash),
            new ABIValue("bytes32", Keccak(name)),
            new ABIValue("bytes32", Keccak(version)),
            new ABIValue("uint256", chainId),
            new ABIValue("address", verifyingContract)));
        var typeHash = Keccak("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)");
        var structHash = Keccak(abi.GetABIEncoded(
            new ABIValue("bytes32", typeHash),
            new ABIValue("address", auth.From),
            new ABIValue("address", auth.To),
            new ABIValue("uint256", auth.Value),
            new ABIValue("uint256", new BigInteger(auth.ValidAfter)),
            new ABIValue("uint256", new BigInteger(auth.ValidBefore)),
            new ABIValue("bytes32", Convert.FromHexString(auth.Nonce[2..]))));
        return Keccak([0x19, 0x01, .. domainSeparator, .. structHash]);
    }

    private static Wire.PaymentRequirements Requirement(string extra = "{\"name\":\"USDC\",\"version\":\"2\"}", string network = "eip155:84532") =>
        Assert.Single(TestData.Challenge(TestData.Requirement(network: network, extra: extra)).Accepts);

    [Fact]
    public void TypeHash_MatchesEip3009Constant()
    {
        Assert.Equal(TransferWithAuthorizationTypeHash, Hex(Keccak("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")));
    }

    [Fact]
    public void SpecDigest_MatchesViem_ForFixedAuthorization()
    {
        Assert.Equal(ViemDigest, Hex(SpecDigest("USDC", "2", 84532, TestData.UsdcSepolia, Authorization)));
    }

    [Fact]
    public void BuildTypedData_EncodesToSpecDigest()
    {
        var typedData = ExactEvmScheme.BuildTypedData(Requirement(), Authorization);

        var digest = Keccak(Eip712TypedDataSigner.Current.EncodeTypedData(typedData));

        Assert.Equal(ViemDigest, Hex(digest));
    }

    [Fact]
    public void BuildTypedData_TakesDomainFromExtraAndNetwork()
    {
        var typedData = ExactEvmScheme.BuildTypedData(Requirement(extra: "{\"name\":\"USD Coin\",\"version\":\"2\"}", network: "eip155:8453"), Authorization);

        var digest = Keccak(Eip712TypedDataSigner.Current.EncodeTypedData(typedData));

        Assert.Equal(Hex(SpecDigest("USD Coin", "2", 8453, TestData.UsdcSepolia, Authorization)), Hex(digest));
    }

    [Fact]
    public async Task SignTypedDataAsync_RecoversToSigner_OverSpecDigest()
    {
        var signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

        var signature = await signer.SignTypedDataAsync(ExactEvmScheme.BuildTypedData(Requirement(), Authorization));

        var recovered = EthECKey.RecoverFromSignature(EthECDSASignatureFactory.ExtractECDSASignature(signature), SpecDigest("USDC", "2", 84532, TestData.UsdcSepolia, Authorization));
        Assert.Equal(TestData.Address, recovered.GetPublicAddress());
    }

    [Fact]
    public async Task SignTypedDataAsync_EqualsViemSignature_ForSameKeyAndMessage()
    {
        // Both sides use RFC 6979 deterministic nonces and low-s, so the bytes must agree exactly.
        var signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

        var signature = await signer.SignTypedDataAsync(ExactEvmScheme.BuildTypedData(Requirement(), Authorization));

        Assert.Equal(ViemSignature, signature);
    }

    [Fact]
    public void TryRecover_RecoversViemSignature()
    {
        Assert.True(ExactEvmScheme.TryRecover(ExactEvmScheme.BuildTypedData(Requirement(), Authorization), ViemSignature, out var address));
        Assert.Equal(TestData.Address, address);
    }
}
