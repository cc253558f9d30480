using Nethereum.Signer;
using Nethereum.Signer.EIP712;

namespace X402Orleans.Payments.Signing;

/// <summary>
/// Signs with a secp256k1 private key held in memory. The key is never exposed: <see cref="ToString"/> shows only the
/// address, and errors about a bad key never echo it.
/// </summary>
public sealed class LocalPrivateKeySigner : IPaymentSigner
{
    private readonly EthECKey _key;

    private LocalPrivateKeySigner(EthECKey key)
    {
        _key = key;
        Address = key.GetPublicAddress();
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
            if (bytes.All(b => b == 0))
            {
                throw new FormatException("The wallet private key is not a valid secp256k1 key.");
            }

            return new LocalPrivateKeySigner(new EthECKey(bytes, true));
        }
        catch (ArgumentException)
        {
            // Nethereum refuses scalars outside [1, n − 1]; its message is replaced so the contract (FormatException) holds.
            throw new FormatException("The wallet private key is not a valid secp256k1 key.");
        }
        finally
        {
            Array.Clear(bytes);
        }
    }

    /// <summary>Reads the key from a file holding the hex key (first line used).</summary>
    /// <exception cref="FormatException">The file does not hold a valid key.</exception>
    public static LocalPrivateKeySigner FromFile(string path)
    {
        var text = File.ReadAllText(path);
        var line = text.Split('\n', 2)[0];
        return FromHex(line);
    }

    /// <summary>Creates a signer with a fresh random key (development only: the key exists nowhere else).</summary>
    public static LocalPrivateKeySigner Generate() => new(EthECKey.GenerateKey());

    /// <inheritdoc />
    public ValueTask<string> SignTypedDataAsync(string typedDataJson, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Eip712TypedDataSigner.Current.SignTypedDataV4(typedDataJson, _key));

    /// <inheritdoc />
    public ValueTask<string> SignMessageAsync(string message, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new EthereumMessageSigner().EncodeUTF8AndSign(message, _key));

    /// <inheritdoc />
    public override string ToString() => $"LocalPrivateKeySigner({Address})";
}
