using System.Globalization;
using System.Numerics;
using Nethereum.Signer;
using Nethereum.Signer.EIP712;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Payments.Tests;

/// <summary>
/// The NBitcoin.Secp256k1 signing and recovery against Nethereum's (BouncyCastle) for many seeded random keys, typed data and
/// messages: signatures byte-equal, addresses equal; and the edge cases of malformed r, s and v.
/// </summary>
public sealed class Secp256k1EquivalenceTests
{
    private const int Cases = 200;

    /// <summary>secp256k1's group order n.</summary>
    private static readonly BigInteger N = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>secp256k1's field prime p.</summary>
    private static readonly BigInteger P = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static byte[] RandomKey(Random random)
    {
        var key = new byte[32];
        do
        {
            random.NextBytes(key);
        }
        while (new BigInteger(key, isUnsigned: true, isBigEndian: true) is var k && (k.IsZero || k >= N));

        return key;
    }

    private static string RandomAddress(Random random)
    {
        var bytes = new byte[20];
        random.NextBytes(bytes);
        return EvmAddress.ToChecksum("0x" + Convert.ToHexStringLower(bytes));
    }

    private static string RandomText(Random random, int maxLength)
    {
        var chars = new char[random.Next(maxLength + 1)];
        for (var i = 0; i < chars.Length; i++)
        {
            // Mostly ASCII with line breaks, some Latin-1 and CJK (multi-byte UTF-8).
            chars[i] = random.Next(10) switch
            {
                0 => '\n',
                1 => (char)random.Next(0xA0, 0x100),
                2 => (char)random.Next(0x4E00, 0x9FFF),
                _ => (char)random.Next(0x20, 0x7F),
            };
        }

        return new string(chars);
    }

    private static string RandomTypedData(Random random)
    {
        var nonce = new byte[32];
        random.NextBytes(nonce);
        var name = RandomText(random, 12).Replace("\"", string.Empty, StringComparison.Ordinal).Replace("\\", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal);
        var extra = $"{{\"name\":\"{name}\",\"version\":\"{random.Next(1, 10).ToString(CultureInfo.InvariantCulture)}\"}}";
        var network = "eip155:" + random.NextInt64(1, long.MaxValue).ToString(CultureInfo.InvariantCulture);
        var requirement = Assert.Single(TestData.Challenge(TestData.Requirement(network: network, asset: RandomAddress(random), payTo: RandomAddress(random), extra: extra)).Accepts);
        var authorization = new TransferAuthorization(
            RandomAddress(random), requirement.PayTo, new BigInteger(random.NextInt64(0, long.MaxValue)) * random.Next(), random.NextInt64(0, 1L << 40), random.NextInt64(0, 1L << 40), "0x" + Convert.ToHexStringLower(nonce));
        return ExactEvmScheme.BuildTypedData(requirement, authorization);
    }

    /// <summary>The recovery this project used before NBitcoin.Secp256k1 (Nethereum over BouncyCastle); null where it threw.</summary>
    private static string? NethereumRecover(byte[] digest, string signature)
    {
        try
        {
            return EthECKey.RecoverFromSignature(EthECDSASignatureFactory.ExtractECDSASignature(signature), digest)?.GetPublicAddress();
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static string Hex32(BigInteger value) => Convert.ToHexStringLower(value.ToByteArray(isUnsigned: true, isBigEndian: true)).PadLeft(64, '0');

    private static string WithRs(BigInteger r, BigInteger s, int v) => "0x" + Hex32(r) + Hex32(s) + v.ToString("x2", CultureInfo.InvariantCulture);

    [Fact]
    public async Task SignTypedDataAsync_EqualsNethereum_ForRandomKeysAndTypedData()
    {
        var random = new Random(712);
        for (var i = 0; i < Cases; i++)
        {
            var key = RandomKey(random);
            var typedData = RandomTypedData(random);
            var signer = LocalPrivateKeySigner.FromHex(Convert.ToHexStringLower(key));

            var signature = await signer.SignTypedDataAsync(typedData);

            var nethereumKey = new EthECKey(key, true);
            Assert.Equal(nethereumKey.GetPublicAddress(), signer.Address);
            Assert.Equal(Eip712TypedDataSigner.Current.SignTypedDataV4(typedData, nethereumKey), signature);
            Assert.True(ExactEvmScheme.TryRecover(typedData, signature, out var recovered));
            Assert.Equal(signer.Address, recovered);
        }
    }

    [Fact]
    public async Task SignMessageAsync_EqualsNethereum_ForRandomKeysAndMessages()
    {
        var random = new Random(191);
        for (var i = 0; i < Cases; i++)
        {
            var key = RandomKey(random);
            var message = RandomText(random, i % 10 == 0 ? 2000 : 200);
            var signer = LocalPrivateKeySigner.FromHex(Convert.ToHexStringLower(key));

            var signature = await signer.SignMessageAsync(message);

            var nethereumKey = new EthECKey(key, true);
            Assert.Equal(new EthereumMessageSigner().EncodeUTF8AndSign(message, nethereumKey), signature);
            Assert.Equal(nethereumKey.GetPublicAddress(), SignatureBytes.Recover(SignatureBytes.MessageDigest(message), signature));
        }
    }

    [Fact]
    public void Recover_EqualsNethereum_ForRandomDigestsAndSignatureVariants()
    {
        var random = new Random(65);
        for (var i = 0; i < Cases; i++)
        {
            var key = RandomKey(random);
            var digest = new byte[32];
            random.NextBytes(digest);
            var signature = new EthECKey(key, true).SignAndCalculateV(digest);
            var r = new BigInteger(signature.R, isUnsigned: true, isBigEndian: true);
            var s = new BigInteger(signature.S, isUnsigned: true, isBigEndian: true);
            var v = signature.V[0];
            var garbage = new byte[64];
            random.NextBytes(garbage);

            foreach (var candidate in new[]
            {
                WithRs(r, s, v),
                WithRs(r, s, 55 - v),                   // the other recovery id: another key
                WithRs(r, N - s, 55 - v),               // high s, flipped recovery id: the same key
                WithRs(r, N - s, v),                   // high s, same recovery id: another key
                "0x" + Convert.ToHexStringLower(garbage) + (27 + (i % 2)).ToString("x2", CultureInfo.InvariantCulture),
            })
            {
                Assert.Equal(NethereumRecover(digest, candidate), SignatureBytes.Recover(digest, candidate));
            }
        }
    }

    [Theory]
    [InlineData("r = 0")]
    [InlineData("s = 0")]
    [InlineData("r = n")]
    [InlineData("s = n")]
    [InlineData("r = n + 2")]
    [InlineData("s = n + 1")]
    [InlineData("r = p - 1")]
    [InlineData("all ff")]
    public void Recover_RefusesROrSOutsideTheGroupOrder(string variant)
    {
        // Nethereum recovered some address for s ≡ 0 and for r in [n, p) that is the x of a curve point (n + 2 is); such values are
        // not ECDSA signatures, and Ethereum's ecrecover refuses them: so does the recovery now.
        var (digest, r, s, _) = SignedDigest();
        var signature = variant switch
        {
            "r = 0" => WithRs(0, s, 27),
            "s = 0" => WithRs(r, 0, 27),
            "r = n" => WithRs(N, s, 27),
            "s = n" => WithRs(r, N, 27),
            "r = n + 2" => WithRs(N + 2, s, 27),
            "s = n + 1" => WithRs(r, N + 1, 27),
            "r = p - 1" => WithRs(P - 1, s, 27),
            _ => "0x" + new string('f', 128) + "1b",
        };

        Assert.True(SignatureBytes.IsRecoverable65(signature));
        Assert.Null(SignatureBytes.Recover(digest, signature));
    }

    [Fact]
    public void Recover_AcceptsHighS_WithTheOtherRecoveryId_AsBefore()
    {
        // (r, n − s) with the other recovery id is the same signature's malleable twin; recovery (like Nethereum's) does not refuse it.
        var (digest, r, s, v) = SignedDigest();
        var expected = SignatureBytes.Recover(digest, WithRs(r, s, v));

        Assert.NotNull(expected);
        Assert.Equal(expected, SignatureBytes.Recover(digest, WithRs(r, N - s, 55 - v)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(26)]
    [InlineData(29)]
    [InlineData(37)]
    public void Recover_RefusesVOtherThan27Or28(int v)
    {
        var (digest, r, s, _) = SignedDigest();

        Assert.Null(SignatureBytes.Recover(digest, WithRs(r, s, v)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("0x1b")]
    [InlineData("0xzz")]
    public void Recover_RefusesWrongLength(string signature)
    {
        Assert.Null(SignatureBytes.Recover(new byte[32], signature));
    }

    private static (byte[] Digest, BigInteger R, BigInteger S, int V) SignedDigest()
    {
        var random = new Random(1);
        var digest = new byte[32];
        random.NextBytes(digest);
        var signature = new EthECKey(RandomKey(random), true).SignAndCalculateV(digest);
        return (digest, new BigInteger(signature.R, isUnsigned: true, isBigEndian: true), new BigInteger(signature.S, isUnsigned: true, isBigEndian: true), signature.V[0]);
    }
}
