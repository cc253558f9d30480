using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>
/// The immutable configuration of a batch-settlement channel; its EIP-712 hash is the channel id.
/// <c>ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)</c>.
/// Addresses are kept as written (the official client copies <c>payTo</c> and <c>asset</c> verbatim into the payload); hashing ignores their case.
/// </summary>
/// <param name="Payer">The wallet that deposits.</param>
/// <param name="PayerAuthorizer">The key that signs vouchers (the payer itself unless a separate voucher key is used).</param>
/// <param name="Receiver">The payee (the requirement's <c>payTo</c>).</param>
/// <param name="ReceiverAuthorizer">The key that authorises claims and refunds (the requirement's <c>extra.receiverAuthorizer</c>).</param>
/// <param name="Token">The token (the requirement's <c>asset</c>).</param>
/// <param name="WithdrawDelay">Seconds between a unilateral withdraw request and its finalisation (uint40).</param>
/// <param name="Salt">32 bytes that tell apart several channels of the same parties.</param>
public sealed record ChannelConfig(string Payer, string PayerAuthorizer, string Receiver, string ReceiverAuthorizer, string Token, long WithdrawDelay, string Salt)
{
    private static readonly (string Name, string Type)[] Fields =
    [
        ("payer", "address"), ("payerAuthorizer", "address"), ("receiver", "address"), ("receiverAuthorizer", "address"),
        ("token", "address"), ("withdrawDelay", "uint40"), ("salt", "bytes32"),
    ];

    private static readonly byte[] TypeHash = Eip712.TypeHash(
        "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)");

    /// <summary>
    /// The configuration the official client builds for a requirement: payer = <paramref name="payer"/>, payerAuthorizer = EIP-55 of
    /// <paramref name="payerAuthorizer"/> or else the payer, receiver = <c>payTo</c> and token = <c>asset</c> verbatim, receiverAuthorizer
    /// = EIP-55 of <c>extra.receiverAuthorizer</c> (required, non-zero), withdrawDelay = <c>extra.withdrawDelay</c> when it is a JSON
    /// number else 900, salt = <paramref name="salt"/> or 32 zero bytes.
    /// </summary>
    public static bool TryFromRequirements(PaymentRequirements requirements, string payer, out ChannelConfig? config, out string error, string? payerAuthorizer = null, string? salt = null)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(payer);
        config = null;
        if (!NetworkNames.TryGetEvmChainId(requirements.Network, out _))
        {
            error = $"network '{requirements.Network}' is not an EVM (eip155) network";
            return false;
        }

        var receiverAuthorizer = requirements.Extra is null ? null : X402Json.GetString(requirements.Extra, "receiverAuthorizer");
        if (!EvmAddress.IsValid(receiverAuthorizer) || IsZero(receiverAuthorizer!))
        {
            error = "the requirement's extra lacks a non-zero receiverAuthorizer";
            return false;
        }

        if (!EvmAddress.IsValid(payer) || (payerAuthorizer is not null && !EvmAddress.IsValid(payerAuthorizer)) || !EvmAddress.IsValid(requirements.PayTo) || !EvmAddress.IsValid(requirements.Asset))
        {
            error = "payer, payer authorizer, payTo or asset is not an EVM address";
            return false;
        }

        var withdrawDelay = MinWithdrawDelayDefault;
        if (requirements.Extra!["withdrawDelay"] is JsonValue delay && delay.GetValueKind() == JsonValueKind.Number)
        {
            if (!delay.TryGetValue<long>(out withdrawDelay) || withdrawDelay is < 0 or > (1L << 40) - 1)
            {
                error = "the requirement's extra.withdrawDelay is not a uint40";
                return false;
            }
        }

        salt ??= BatchSettlementScheme.DefaultSalt;
        if (!BatchSettlementScheme.IsBytes32(salt))
        {
            error = "the channel salt is not 32 bytes of hex";
            return false;
        }

        config = new ChannelConfig(payer, EvmAddress.ToChecksum(payerAuthorizer ?? payer), requirements.PayTo, EvmAddress.ToChecksum(receiverAuthorizer!), requirements.Asset, withdrawDelay, salt);
        error = string.Empty;
        return true;
    }

    /// <summary>The <c>eth_signTypedData_v4</c> JSON of this configuration under the batch-settlement domain of <paramref name="chainId"/>.</summary>
    public string BuildTypedData(BigInteger chainId) =>
        Eip712.TypedData("ChannelConfig", Fields, BatchSettlementScheme.Domain(chainId), ToHashMessage());

    /// <summary>The channel id: the EIP-712 hash of this configuration on the chain of <paramref name="network"/> (<c>0x</c> + 64 lower-case hex digits).</summary>
    /// <remarks>Hashed directly (the cached domain separator and keccak256(typeHash ‖ fields)); equal to the hash of <see cref="BuildTypedData"/>.</remarks>
    public string ComputeId(string network) => Eip712.ToHex(Eip712.Digest(
        BatchSettlementScheme.DomainSeparator(BatchSettlementScheme.ChainId(network)),
        Eip712.HashStruct(TypeHash, AbiWord.Hex(Payer), AbiWord.Hex(PayerAuthorizer), AbiWord.Hex(Receiver), AbiWord.Hex(ReceiverAuthorizer), AbiWord.Hex(Token), AbiWord.Uint(WithdrawDelay), AbiWord.Hex(Salt))));

    /// <summary>The <c>channelConfig</c> object as the official client writes it (withdrawDelay a JSON number).</summary>
    public JsonObject ToJson() => new()
    {
        ["payer"] = Payer,
        ["payerAuthorizer"] = PayerAuthorizer,
        ["receiver"] = Receiver,
        ["receiverAuthorizer"] = ReceiverAuthorizer,
        ["token"] = Token,
        ["withdrawDelay"] = WithdrawDelay,
        ["salt"] = Salt,
    };

    /// <summary>Reads a <c>channelConfig</c> object (e.g. from a payload); addresses must be addresses, salt 32 bytes, withdrawDelay a uint40.</summary>
    public static bool TryRead(JsonObject? json, out ChannelConfig? config, out string error)
    {
        config = null;
        if (json is null)
        {
            error = "channelConfig is missing";
            return false;
        }

        string?[] addresses = [X402Json.GetString(json, "payer"), X402Json.GetString(json, "payerAuthorizer"), X402Json.GetString(json, "receiver"), X402Json.GetString(json, "receiverAuthorizer"), X402Json.GetString(json, "token")];
        if (addresses.Any(a => !EvmAddress.IsValid(a)))
        {
            error = "channelConfig has a field that is not an address";
            return false;
        }

        var salt = X402Json.GetString(json, "salt");
        if (!BatchSettlementScheme.IsBytes32(salt) || !X402Json.TryGetInt64(json, "withdrawDelay", out var delay) || delay is < 0 or > (1L << 40) - 1)
        {
            error = "channelConfig salt or withdrawDelay is malformed";
            return false;
        }

        config = new ChannelConfig(addresses[0]!, addresses[1]!, addresses[2]!, addresses[3]!, addresses[4]!, delay, salt!);
        error = string.Empty;
        return true;
    }

    private const long MinWithdrawDelayDefault = BatchSettlementScheme.MinWithdrawDelay;

    private JsonObject ToHashMessage()
    {
        var message = ToJson();
        message["withdrawDelay"] = WithdrawDelay.ToString(CultureInfo.InvariantCulture);
        return message;
    }

    private static bool IsZero(string address) => address.AsSpan(2).IndexOfAnyExcept('0') < 0;
}
