using System.Buffers;
using System.Text;
using NBitcoin.Secp256k1;
using Nethereum.Signer;
using Nethereum.Signer.EIP712;
using Nethereum.Util;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// 65-byte r‖s‖v signatures over a 32-byte digest: shape check, signing and public-key recovery on secp256k1 (NBitcoin.Secp256k1),
/// and the digests they cover (EIP-712 typed data, EIP-191 personal messages; encoded and hashed by Nethereum).
/// </summary>
internal static class SignatureBytes
{
    /// <summary>Ethereum's offset for v: v = 27 + recovery id.</summary>
    private const int VOffset = 27;

    /// <summary>keccak256 of the EIP-712 encoding of typed data (v4), the digest <c>eth_signTypedData_v4</c> signs.</summary>
    public static byte[] TypedDataDigest(string typedDataJson) =>
        Sha3Keccack.Current.CalculateHash(Eip712TypedDataSigner.Current.EncodeTypedData(typedDataJson));

    /// <summary>The EIP-191 digest of a UTF-8 message (<c>"\x19Ethereum Signed Message:\n" ‖ length ‖ message</c>), as <c>personal_sign</c>.</summary>
    public static byte[] MessageDigest(string message) =>
        new EthereumMessageSigner().HashPrefixedMessage(Encoding.UTF8.GetBytes(message));

    /// <summary>True for <c>0x</c> and 130 hex digits whose v is 27 or 28.</summary>
    public static bool IsRecoverable65(string? signature)
    {
        if (signature is not { Length: 132 } || !signature.StartsWith("0x", StringComparison.Ordinal) || signature.AsSpan(2).ContainsAnyExcept("0123456789abcdefABCDEF"))
        {
            return false;
        }

        var v = Convert.ToByte(signature[130..], 16);
        return v is 27 or 28;
    }

    /// <summary>Signs a 32-byte digest (RFC 6979 nonce, low s) as lowercase <c>0x</c> r‖s‖v hex with v = 27 + recovery id.</summary>
    public static string Sign(ECPrivKey key, ReadOnlySpan<byte> digest)
    {
        if (!key.TrySignRecoverable(digest, out var signature) || signature is null)
        {
            throw new InvalidOperationException("secp256k1 signing failed.");
        }

        Span<byte> bytes = stackalloc byte[65];
        signature.WriteToSpanCompact(bytes[..64], out var recoveryId);
        bytes[64] = (byte)(VOffset + recoveryId);
        return "0x" + Convert.ToHexStringLower(bytes);
    }

    /// <summary>
    /// The checksummed address that signed <paramref name="digest"/>, or null when the signature is not <c>0x</c> and 65 bytes of hex,
    /// v is not 27/28, r or s is not in [1, n − 1], or no public key recovers (r is not the x of a curve point). A high s is recovered
    /// as is (as before, with Nethereum).
    /// </summary>
    public static string? Recover(ReadOnlySpan<byte> digest, string signature)
    {
        Span<byte> bytes = stackalloc byte[65];
        if (signature.Length != 132 || Convert.FromHexString(signature.AsSpan(2), bytes, out _, out var written) != OperationStatus.Done || written != 65)
        {
            return null;
        }

        var recoveryId = bytes[64] - VOffset;
        if (recoveryId is not (0 or 1)
            || !SecpRecoverableECDSASignature.TryCreateFromCompact(bytes[..64], recoveryId, out var recoverable)
            || recoverable is null
            || !ECPubKey.TryRecover(Context.Instance, recoverable, digest, out var publicKey)
            || publicKey is null)
        {
            return null;
        }

        return AddressOf(publicKey);
    }

    /// <summary>The EIP-55 address of a public key: the last 20 bytes of keccak256 of its uncompressed x ‖ y.</summary>
    public static string AddressOf(ECPubKey publicKey)
    {
        Span<byte> uncompressed = stackalloc byte[65];
        publicKey.WriteToSpan(false, uncompressed, out _);
        var hash = Sha3Keccack.Current.CalculateHash(uncompressed[1..].ToArray());
        return EvmAddress.ToChecksum("0x" + Convert.ToHexStringLower(hash.AsSpan(12)));
    }
}
