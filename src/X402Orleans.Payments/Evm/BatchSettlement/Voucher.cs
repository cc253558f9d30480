using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>
/// A signed cumulative voucher, <c>Voucher(bytes32 channelId, uint128 maxClaimableAmount)</c> under the batch-settlement domain: the
/// receiver may claim up to <paramref name="MaxClaimableAmount"/> in total from the channel.
/// </summary>
/// <param name="ChannelId">The channel id (<c>0x</c> + 64 hex digits).</param>
/// <param name="MaxClaimableAmount">The cumulative ceiling, in the token's atomic units.</param>
/// <param name="Signature">65-byte hex signature by the channel's payer authorizer (v = 27/28).</param>
public sealed record Voucher(string ChannelId, BigInteger MaxClaimableAmount, string Signature)
{
    private static readonly (string Name, string Type)[] Fields = [("channelId", "bytes32"), ("maxClaimableAmount", "uint128")];
    private static readonly byte[] TypeHash = Eip712.TypeHash("Voucher(bytes32 channelId,uint128 maxClaimableAmount)");

    /// <summary>The <c>eth_signTypedData_v4</c> JSON of a voucher on <paramref name="chainId"/>.</summary>
    public static string BuildTypedData(string channelId, BigInteger maxClaimableAmount, BigInteger chainId) =>
        Eip712.TypedData("Voucher", Fields, BatchSettlementScheme.Domain(chainId), new JsonObject
        {
            ["channelId"] = channelId,
            ["maxClaimableAmount"] = maxClaimableAmount.ToString(CultureInfo.InvariantCulture),
        });

    /// <summary>
    /// The EIP-712 digest of a voucher on <paramref name="chainId"/>, hashed directly (the cached domain separator and
    /// keccak256(typeHash ‖ channelId ‖ uint128)); equal to the hash of <see cref="BuildTypedData"/>. Signing and verifying both use it.
    /// </summary>
    public static byte[] Digest(string channelId, BigInteger maxClaimableAmount, BigInteger chainId) =>
        Eip712.Digest(BatchSettlementScheme.DomainSeparator(chainId), Eip712.HashStruct(TypeHash, AbiWord.Hex(channelId), AbiWord.Uint(maxClaimableAmount)));

    /// <summary>Signs a voucher for <paramref name="channelId"/> with ceiling <paramref name="maxClaimableAmount"/> on the chain of <paramref name="network"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The ceiling is negative or above uint128.</exception>
    /// <exception cref="ArgumentException">The channel id is not 32 bytes of hex, or the network is not eip155.</exception>
    public static async Task<Voucher> SignAsync(IPaymentSigner signer, string channelId, BigInteger maxClaimableAmount, string network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        if (!BatchSettlementScheme.IsBytes32(channelId))
        {
            throw new ArgumentException("the channel id is not 32 bytes of hex", nameof(channelId));
        }

        if (maxClaimableAmount.Sign < 0 || maxClaimableAmount > BatchSettlementScheme.MaxUint128)
        {
            throw new ArgumentOutOfRangeException(nameof(maxClaimableAmount), "a voucher ceiling is a uint128");
        }

        var chainId = BatchSettlementScheme.ChainId(network);
        var message = new TypedDataMessage(Digest(channelId, maxClaimableAmount, chainId), () => BuildTypedData(channelId, maxClaimableAmount, chainId));
        var signature = await signer.SignTypedDataAsync(message, cancellationToken).ConfigureAwait(false);
        return new Voucher(channelId, maxClaimableAmount, signature);
    }

    /// <summary>Whether <see cref="Signature"/> over (<see cref="ChannelId"/>, <see cref="MaxClaimableAmount"/>) on <paramref name="network"/> recovers to <paramref name="signer"/>.</summary>
    public bool IsSignedBy(string signer, string network)
    {
        if (!BatchSettlementScheme.IsBytes32(ChannelId) || MaxClaimableAmount.Sign < 0 || MaxClaimableAmount > BatchSettlementScheme.MaxUint128
            || !NetworkNames.TryGetEvmChainId(network, out var chainId))
        {
            return false;
        }

        return Eip712.TryRecover(Digest(ChannelId, MaxClaimableAmount, chainId), Signature, out var recovered) && EvmAddress.AreEqual(recovered, signer);
    }

    /// <summary>The <c>voucher</c> object as the official client writes it (ceiling as a decimal string).</summary>
    public JsonObject ToJson() => new()
    {
        ["channelId"] = ChannelId,
        ["maxClaimableAmount"] = MaxClaimableAmount.ToString(CultureInfo.InvariantCulture),
        ["signature"] = Signature,
    };

    /// <summary>Reads a <c>voucher</c> object.</summary>
    public static bool TryRead(JsonObject? json, out Voucher? voucher, out string error)
    {
        voucher = null;
        var channelId = json is null ? null : X402Json.GetString(json, "channelId");
        var signature = json is null ? null : X402Json.GetString(json, "signature");
        if (!BatchSettlementScheme.IsBytes32(channelId) || signature is null
            || !AtomicAmount.TryParseAtomic(X402Json.GetString(json!, "maxClaimableAmount"), out var ceiling) || ceiling > BatchSettlementScheme.MaxUint128)
        {
            error = "voucher lacks a channelId, a uint128 maxClaimableAmount or a signature";
            return false;
        }

        voucher = new Voucher(channelId!, ceiling, signature);
        error = string.Empty;
        return true;
    }
}
