namespace X402Orleans.Payments.Signing;

/// <summary>
/// An EIP-712 message to sign: its 32-byte digest, computed directly by the struct that builds it, and its
/// <c>eth_signTypedData_v4</c> JSON, built only when a wallet asks for it (<see cref="IPaymentSigner.SignTypedDataAsync(TypedDataMessage, CancellationToken)"/>).
/// The two describe the same message: the digest is the EIP-712 hash of the JSON.
/// </summary>
public sealed class TypedDataMessage
{
    private readonly byte[] _digest;
    private readonly Lazy<string> _json;

    /// <summary>A message with its <paramref name="digest"/> and the function that writes its typed-data JSON.</summary>
    public TypedDataMessage(byte[] digest, Func<string> json)
    {
        ArgumentNullException.ThrowIfNull(digest);
        ArgumentNullException.ThrowIfNull(json);
        if (digest.Length != 32)
        {
            throw new ArgumentException("an EIP-712 digest is 32 bytes", nameof(digest));
        }

        _digest = digest;
        _json = new Lazy<string>(json);
    }

    /// <summary>keccak256(<c>0x1901 ‖ domainSeparator ‖ hashStruct(message)</c>).</summary>
    public ReadOnlySpan<byte> Digest => _digest;

    /// <summary>The <c>eth_signTypedData_v4</c> JSON (built on first use).</summary>
    public string Json => _json.Value;
}
