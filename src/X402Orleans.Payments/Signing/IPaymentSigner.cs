namespace X402Orleans.Payments.Signing;

/// <summary>
/// A wallet that signs x402 payments and sign-in messages. Implementations keep their key material to themselves:
/// nothing about the key may appear in <see cref="object.ToString"/>, exceptions, logs or serialized state.
/// </summary>
public interface IPaymentSigner
{
    /// <summary>The wallet's EIP-55 checksummed address.</summary>
    string Address { get; }

    /// <summary>Signs EIP-712 typed data given as <c>eth_signTypedData_v4</c> JSON; returns a 65-byte hex signature with v = 27/28.</summary>
    ValueTask<string> SignTypedDataAsync(string typedDataJson, CancellationToken cancellationToken = default);

    /// <summary>
    /// Signs an EIP-712 message whose digest is already known (vouchers, on every paid request); returns a 65-byte hex signature with
    /// v = 27/28. By default signs the message's JSON; a wallet holding its key signs <see cref="TypedDataMessage.Digest"/> directly.
    /// </summary>
    ValueTask<string> SignTypedDataAsync(TypedDataMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SignTypedDataAsync(message.Json, cancellationToken);
    }

    /// <summary>Signs an EIP-191 personal message (UTF-8); returns a 65-byte hex signature with v = 27/28.</summary>
    ValueTask<string> SignMessageAsync(string message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Signs an EIP-1559 transaction from this wallet (e.g. a channel's unilateral withdraw, the only transaction the wallet sends
    /// itself); returns the raw signed transaction (<c>0x02…</c>) for <c>eth_sendRawTransaction</c>. A signer that cannot sign
    /// transactions throws <see cref="NotSupportedException"/>.
    /// </summary>
    ValueTask<string> SignTransactionAsync(Evm.Eip1559Transaction transaction, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("this wallet cannot sign transactions");
}
