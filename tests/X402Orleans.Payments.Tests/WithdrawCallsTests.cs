using System.Numerics;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Payments.Tests;

/// <summary>
/// The unilateral withdraw's call data and the transaction that carries it. Known answers were produced once by viem 2 (the version
/// in tests/interop) for the same inputs: <c>encodeFunctionData</c> with the ChannelConfig struct ABI, and
/// <c>privateKeyToAccount(TestData.PrivateKey).signTransaction({type: 'eip1559', …})</c> and <c>keccak256(raw)</c>.
/// </summary>
public class WithdrawCallsTests
{
    private const string Salt = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
    private const string ConfigWords =
        "0000000000000000000000002c7536e3605d9c16a7a3d7b1898e529396a65c23" + "0000000000000000000000002c7536e3605d9c16a7a3d7b1898e529396a65c23"
        + "000000000000000000000000209693bc6afc0c5328ba36faf03c514ef312287c" + "00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8"
        + "000000000000000000000000036cbd53842c5426634e7929541ec2318f3dcf7e" + "0000000000000000000000000000000000000000000000000000000000000384"
        + "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    private const string ViemInitiate = "0xcf5cf3dc" + ConfigWords + "00000000000000000000000000000000000000000000000000000000075bcd15";
    private const string ViemFinalize = "0xe88377b1" + ConfigWords;

    private const string ViemSignedInitiate =
        "0x02f9017383014a3407830f4240847735940083030d40944020074e9df2ce1dee5a9c1b5c3f541d02a1000380b90104" + "cf5cf3dc" + ConfigWords
        + "00000000000000000000000000000000000000000000000000000000075bcd15"
        + "c001a05fc291a780c955763ccb8515efa0d3dc7ffa4aa854c2dd30d837b77c505e1a8fa05f818f95aad35fbda0734327fdc4e60686dcedf7f63fb7a94c067bc144020172";

    private const string ViemSignedInitiateHash = "0xcdc89dc66b9d8ff1765d7b007845fc9bff775b0906a72e2cb717bdb5f497c5bc";

    private const string ViemSignedFinalizeZeroFields =
        "0x02f90149827a69808001825208944020074e9df2ce1dee5a9c1b5c3f541d02a1000380b8e4" + "e88377b1" + ConfigWords
        + "c080a07624fd83b48d0daa1f89c720f09e28b1a6afb84c9eaf4a556c3fcca7122fd186a032fbe299d302b6e20e4d1f5fbeaac7ad5437b4d38ca568a3f7a4e7df87c648c1";

    private static readonly ChannelConfig Config = new(TestData.Address, TestData.Address, TestData.PayTo, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", TestData.UsdcSepolia, 900, Salt);

    private static LocalPrivateKeySigner Signer() => LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

    [Fact]
    public void Initiate_IsByteIdenticalToViem_ForSameConfigAndAmount() =>
        Assert.Equal(ViemInitiate, WithdrawCalls.Initiate(Config, 123456789));

    [Fact]
    public void Finalize_IsByteIdenticalToViem_ForSameConfig() =>
        Assert.Equal(ViemFinalize, WithdrawCalls.Finalize(Config));

    [Fact]
    public void Initiate_Throws_WhenAmountIsZeroOrAboveUint128()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WithdrawCalls.Initiate(Config, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => WithdrawCalls.Initiate(Config, BigInteger.One << 128));
    }

    [Fact]
    public async Task SignTransactionAsync_IsByteIdenticalToViem_ForEip1559Initiate()
    {
        var tx = new Eip1559Transaction(84532, 7, 1_000_000, 2_000_000_000, 200_000, BatchSettlementScheme.ContractAddress, 0, WithdrawCalls.Initiate(Config, 123456789));

        var raw = await Signer().SignTransactionAsync(tx);

        Assert.Equal(ViemSignedInitiate, raw);
        Assert.Equal(ViemSignedInitiateHash, Eip1559Transaction.HashOf(raw));
    }

    [Fact]
    public async Task SignTransactionAsync_IsByteIdenticalToViem_WhenNonceTipAndValueAreZero()
    {
        var tx = new Eip1559Transaction(31337, 0, 0, 1, 21_000, BatchSettlementScheme.ContractAddress, 0, WithdrawCalls.Finalize(Config));

        Assert.Equal(ViemSignedFinalizeZeroFields, await Signer().SignTransactionAsync(tx));
    }

    [Fact]
    public void ReadPendingWithdrawal_ReadsAmountAndInitiatedAt_FromTwoWords()
    {
        var pending = WithdrawCalls.ReadPendingWithdrawal("0x" + AbiWord.Uint(5000) + AbiWord.Uint(1_700_000_000));

        Assert.Equal(new PendingWithdrawal(5000, 1_700_000_000), pending);
        Assert.True(pending!.Pending);
        Assert.Null(WithdrawCalls.ReadPendingWithdrawal("0x" + AbiWord.Uint(5000)));
    }

    [Fact]
    public void ReadChannel_GivesUnclaimed_AsBalanceLessClaimed() =>
        Assert.Equal(700, WithdrawCalls.ReadChannel("0x" + AbiWord.Uint(1000) + AbiWord.Uint(300))!.Unclaimed);
}
