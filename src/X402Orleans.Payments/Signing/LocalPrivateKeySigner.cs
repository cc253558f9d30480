using System.Security.Cryptography;
using NBitcoin.Secp256k1;
using X402Orleans.Payments.Evm;

namespace X402Orleans.Payments.Signing;

/// <summary>
/// Signs with a secp256k1 private key held in memory. The key is never exposed: <see cref="ToString"/> shows only the
/// address, and errors about a bad key never echo it. Signing runs on NBitcoin.Secp256k1 (RFC 6979 nonces, low s), byte-identical to
/// Nethereum's and viem's signatures.
/// </summary>
public sealed class LocalPrivateKeySigner : IPaymentSigner
{
    private readonly ECPrivKey _key;

    private LocalPrivateKeySigner(ECPrivKey key)
    {
        _key = key;
        Address = SignatureBytes.AddressOf(key.CreatePubKey());
    }

    /// <inheritdoc />
    public string Address { get; }

    /// <summary>Creates a signer from a hex private key (with or without <c>0x</c>, surrounding whitespace ignored).</summary>
    /// <exception cref="FormatException">The text is not 32 bytes of hex; the message never contains the text.</exception>
    public static LocalPrivateKeySigner FromHex(string privateKeyHex)
    {
        ArgumentNullException.ThrowIfNull(privateKeyHex);
        var hex = privateKeyHex.Trim();
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            hex = hex[2..];
        }

        if (hex.Length != 64 || hex.AsSpan().ContainsAnyExcept("0123456789abcdefABCDEF"))
        {
            throw new FormatException("The wallet private key must be 32 bytes of hex (64 hex digits, optional 0x prefix).");
        }

        var bytes = Convert.FromHexString(hex);
        try
        {
            return FromKeyBytes(bytes);
        }
        finally
        {
            Array.Clear(bytes);
        }
    }

    /// <summary>Creates a signer from the 32 key bytes (the caller clears them).</summary>
    /// <exception cref="FormatException">The bytes are not a valid secp256k1 key; the message never contains them.</exception>
    internal static LocalPrivateKeySigner FromKeyBytes(ReadOnlySpan<byte> bytes) =>
        // 0 and scalars ≥ n (the group order) are refused.
        ECPrivKey.TryCreate(bytes, out var key) && key is not null
            ? new LocalPrivateKeySigner(key)
            : throw new FormatException("The wallet private key is not a valid secp256k1 key.");

    /// <summary>Reads the key from a file holding the hex key (first line used).</summary>
    /// <exception cref="FormatException">The file does not hold a valid key.</exception>
    public static LocalPrivateKeySigner FromFile(string path)
    {
        var text = File.ReadAllText(path);
        var line = text.Split('\n', 2)[0];
        return FromHex(line);
    }

    /// <summary>Decrypts an Ethereum keystore (Web3 Secret Storage v3, scrypt or PBKDF2) given as JSON; see <see cref="KeystoreLoader"/>.</summary>
    /// <exception cref="KeystoreException">The keystore is malformed or the password is wrong; the message never contains key material.</exception>
    public static LocalPrivateKeySigner FromKeystore(string keystoreJson, string password) => KeystoreLoader.FromJson(keystoreJson, password);

    /// <summary>Decrypts an Ethereum keystore file (Web3 Secret Storage v3, scrypt or PBKDF2); see <see cref="KeystoreLoader"/>.</summary>
    /// <exception cref="KeystoreException">The file is missing or malformed or the password is wrong; the message names the file, never key material.</exception>
    public static LocalPrivateKeySigner FromKeystoreFile(string path, string password) => KeystoreLoader.FromFile(path, password);

    /// <summary>Creates a signer with a fresh random key (development only: the key exists nowhere else).</summary>
    public static LocalPrivateKeySigner Generate()
    {
        Span<byte> bytes = stackalloc byte[32];
        try
        {
            while (true)
            {
                RandomNumberGenerator.Fill(bytes);
                if (ECPrivKey.TryCreate(bytes, out var key) && key is not null)
                {
                    return new LocalPrivateKeySigner(key);
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <inheritdoc />
    public ValueTask<string> SignTypedDataAsync(string typedDataJson, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(SignatureBytes.Sign(_key, SignatureBytes.TypedDataDigest(typedDataJson)));

    /// <inheritdoc />
    public ValueTask<string> SignTypedDataAsync(TypedDataMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ValueTask.FromResult(SignatureBytes.Sign(_key, message.Digest));
    }

    /// <inheritdoc />
    public ValueTask<string> SignMessageAsync(string message, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(SignatureBytes.Sign(_key, SignatureBytes.MessageDigest(message)));

    /// <inheritdoc />
    public ValueTask<string> SignTransactionAsync(Eip1559Transaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return ValueTask.FromResult(transaction.Encode(SignatureBytes.Sign(_key, transaction.SigningHash())));
    }

    /// <inheritdoc />
    public override string ToString() => $"LocalPrivateKeySigner({Address})";
}
