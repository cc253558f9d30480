using System.Text.RegularExpressions;
using Nethereum.Signer;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;

namespace X402Orleans.Payments.Tests;

public sealed partial class LocalPrivateKeySignerTests : IDisposable
{
    private const string KeyDigits = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    private readonly string _directory = Directory.CreateTempSubdirectory("x402-signer-tests-").FullName;

    [GeneratedRegex("^0x[0-9a-fA-F]{40}$")]
    private static partial Regex AddressShape();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void FromHex_DerivesKnownAddress()
    {
        // Same address as viem's privateKeyToAccount and the web3.js documentation for this key.
        Assert.Equal(TestData.Address, LocalPrivateKeySigner.FromHex(TestData.PrivateKey).Address);
    }

    [Fact]
    public void FromHex_DerivesGeneratorAddress_ForKeyOne()
    {
        // Private key 1's public key is the curve generator G; its address is a well-known constant.
        var signer = LocalPrivateKeySigner.FromHex("0x" + new string('0', 63) + "1");

        Assert.Equal("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", signer.Address);
    }

    [Theory]
    [InlineData(KeyDigits)]
    [InlineData("0x" + KeyDigits)]
    [InlineData("0X" + KeyDigits)]
    [InlineData("  0x" + KeyDigits + "\r\n")]
    [InlineData("\t" + KeyDigits + " ")]
    [InlineData("0x4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318")]
    public void FromHex_AcceptsPrefixCaseAndSurroundingWhitespace(string text)
    {
        Assert.Equal(TestData.Address, LocalPrivateKeySigner.FromHex(text).Address);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f36231")]
    [InlineData("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f3623188")]
    [InlineData("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f36231z")]
    [InlineData("4c0883a69102937d6231471b5dbb6204 fe5129617082792ae468d01a3f362318")]
    [InlineData("0x0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f3623")]
    [InlineData("word word word word word word word word word word word word")]
    public void FromHex_RefusesMalformedKey_WithoutEchoingIt(string text)
    {
        var ex = Assert.Throws<FormatException>(() => LocalPrivateKeySigner.FromHex(text));

        Assert.Equal("The wallet private key must be 32 bytes of hex (64 hex digits, optional 0x prefix).", ex.Message);
        AssertDoesNotLeak(ex, text);
    }

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")]
    [InlineData("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142")]
    [InlineData("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void FromHex_RefusesKeyOutsideCurveOrder_WithFormatException(string text)
    {
        // 0 and anything ≥ n (secp256k1's group order) are not private keys.
        var ex = Assert.Throws<FormatException>(() => LocalPrivateKeySigner.FromHex(text));

        Assert.Equal("The wallet private key is not a valid secp256k1 key.", ex.Message);
        AssertDoesNotLeak(ex, text);
    }

    [Fact]
    public void FromHex_AcceptsLargestValidKey()
    {
        var signer = LocalPrivateKeySigner.FromHex("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");

        Assert.Matches(AddressShape(), signer.Address);
    }

    [Fact]
    public void FromHex_Throws_WhenNull()
    {
        Assert.Throws<ArgumentNullException>(() => LocalPrivateKeySigner.FromHex(null!));
    }

    [Fact]
    public void ToString_ShowsOnlyTheAddress()
    {
        var signer = LocalPrivateKeySigner.FromHex(TestData.PrivateKey);

        var text = signer.ToString();

        Assert.Equal($"LocalPrivateKeySigner({TestData.Address})", text);
        Assert.DoesNotContain(KeyDigits, text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Address_IsEip55Checksummed()
    {
        var address = LocalPrivateKeySigner.FromHex(TestData.OtherPrivateKey).Address;

        Assert.Matches(AddressShape(), address);
        Assert.Equal(EvmAddress.ToChecksum(address.ToLowerInvariant()), address);
    }

    [Fact]
    public void FromFile_ReadsFirstLine()
    {
        var path = Path.Combine(_directory, "key");
        File.WriteAllText(path, TestData.PrivateKey + "\r\n# comment: " + TestData.OtherPrivateKey + "\n");

        Assert.Equal(TestData.Address, LocalPrivateKeySigner.FromFile(path).Address);
    }

    [Fact]
    public void FromFile_ReadsKeyWithoutTrailingNewline()
    {
        var path = Path.Combine(_directory, "key");
        File.WriteAllText(path, KeyDigits);

        Assert.Equal(TestData.Address, LocalPrivateKeySigner.FromFile(path).Address);
    }

    [Fact]
    public void FromFile_RefusesBadKey_WithoutEchoingFileContent()
    {
        var path = Path.Combine(_directory, "key");
        const string content = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f3623";
        File.WriteAllText(path, content + "\n");

        var ex = Assert.Throws<FormatException>(() => LocalPrivateKeySigner.FromFile(path));

        AssertDoesNotLeak(ex, content);
    }

    [Fact]
    public void FromFile_Throws_WhenFileMissing()
    {
        Assert.Throws<FileNotFoundException>(() => LocalPrivateKeySigner.FromFile(Path.Combine(_directory, "missing")));
    }

    [Fact]
    public async Task SignMessageAsync_EqualsViemPersonalSignature()
    {
        // viem account.signMessage of this SIWE text with TestData.PrivateKey.
        const string message = "127.0.0.1:14021 wants you to sign in with your Ethereum account:\n0x2c7536E3605D9C16a7a3D7b1898e529396a65c23\n\nHi\n\n"
            + "URI: http://127.0.0.1:14021/api/v1/weather\nVersion: 1\nChain ID: 84532\nNonce: abcdef0123456789\nIssued At: 2026-11-24T21:35:11.892Z";
        const string viemSignature = "0x395cd73f57f1d433aef429044bca4d6d129742f99b8237f3558d85ff8fda533176ea2c493077fe9a2e202bbebb28af3ff6e000c83de0f6f93b5961fe28d4ab9d1c";

        var signature = await LocalPrivateKeySigner.FromHex(TestData.PrivateKey).SignMessageAsync(message);

        Assert.Equal(viemSignature, signature);
        Assert.Equal(TestData.Address, new EthereumMessageSigner().EncodeUTF8AndEcRecover(message, signature));
    }

    [Fact]
    public void Generate_CreatesDistinctChecksummedWallets()
    {
        var a = LocalPrivateKeySigner.Generate();
        var b = LocalPrivateKeySigner.Generate();

        Assert.Matches(AddressShape(), a.Address);
        Assert.NotEqual(a.Address, b.Address);
        Assert.Equal($"LocalPrivateKeySigner({a.Address})", a.ToString());
    }

    private static void AssertDoesNotLeak(Exception ex, string secret)
    {
        var trimmed = secret.Trim();
        var digits = trimmed.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? trimmed[2..] : trimmed;
        if (digits.Length < 8)
        {
            return;
        }

        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
        {
            Assert.DoesNotContain(digits[..8], e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(digits, e.ToString(), StringComparison.OrdinalIgnoreCase);
        }
    }
}
