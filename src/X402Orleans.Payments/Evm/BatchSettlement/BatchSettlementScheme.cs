using System.Collections.Concurrent;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>
/// Constants of the x402 <c>batch-settlement</c> EVM scheme (as <c>@x402/evm</c> 2.27.0 has them): contract addresses, the
/// EIP-712 domain every channel id, voucher and refund is hashed under, withdraw-delay bounds and the error codes a client acts on.
/// </summary>
public static class BatchSettlementScheme
{
    /// <summary>The scheme's name on the wire.</summary>
    public const string Name = "batch-settlement";

    /// <summary>The x402BatchSettlement contract (the EIP-712 verifying contract).</summary>
    public const string ContractAddress = "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003";

    /// <summary>The ERC3009DepositCollector: the <c>to</c> of a deposit's <c>ReceiveWithAuthorization</c>.</summary>
    public const string Erc3009DepositCollector = "0x4020806089470a89826cB9fB1f4059150b550004";

    /// <summary>The Permit2DepositCollector: the spender of a deposit's Permit2 <c>PermitWitnessTransferFrom</c>.</summary>
    public const string Permit2DepositCollector = "0x4020425FAf3B746C082C2f942b4E5159887B0005";

    /// <summary><c>extra.assetTransferMethod</c> (the default): deposits are ERC-3009 <c>ReceiveWithAuthorization</c>s.</summary>
    public const string Eip3009TransferMethod = "eip3009";

    /// <summary><c>extra.assetTransferMethod</c>: deposits are Permit2 witness transfers (witness <c>DepositWitness(bytes32 channelId)</c>).</summary>
    public const string Permit2TransferMethod = "permit2";

    /// <summary>EIP-712 domain name.</summary>
    public const string DomainName = "x402 Batch Settlement";

    /// <summary>EIP-712 domain version.</summary>
    public const string DomainVersion = "1";

    /// <summary>Smallest withdraw delay the contract accepts (15 minutes); the official client's default when <c>extra</c> has none.</summary>
    public const long MinWithdrawDelay = 900;

    /// <summary>Largest withdraw delay the contract accepts (30 days).</summary>
    public const long MaxWithdrawDelay = 2_592_000;

    /// <summary>The official client's deposit multiplier when the server announces no usable <c>minDeposit</c>.</summary>
    public const int DefaultDepositMultiplier = 5;

    /// <summary>The default channel salt (32 zero bytes): one channel per payer, payee and configuration.</summary>
    public const string DefaultSalt = "0x0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>
    /// A channel salt derived from <paramref name="label"/> (keccak256 of its UTF-8 bytes): one payer can keep several channels
    /// with one payee apart — e.g. one per agent, so each agent's deposits and charges stay on its own channel and budget.
    /// </summary>
    public static string SaltFor(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return "0x" + Convert.ToHexStringLower(Nethereum.Util.Sha3Keccack.Current.CalculateHash(System.Text.Encoding.UTF8.GetBytes(label)));
    }

    /// <summary>uint128: the largest voucher ceiling.</summary>
    public static readonly BigInteger MaxUint128 = (BigInteger.One << 128) - 1;

    /// <summary>Corrective 402: the voucher's base differs from the server's charged total.</summary>
    public const string ErrCumulativeAmountMismatch = "invalid_batch_settlement_evm_cumulative_amount_mismatch";

    /// <summary>Corrective 402: the voucher is at or below what was already claimed on chain.</summary>
    public const string ErrCumulativeBelowClaimed = "invalid_batch_settlement_evm_cumulative_below_claimed";

    /// <summary>The server is processing another request on this channel.</summary>
    public const string ErrChannelBusy = "invalid_batch_settlement_evm_channel_busy";

    /// <summary>A refund was asked of a channel with nothing left to refund.</summary>
    public const string ErrRefundNoBalance = "invalid_batch_settlement_evm_refund_no_balance";

    /// <summary>The voucher exceeds the channel's balance.</summary>
    public const string ErrCumulativeExceedsBalance = "invalid_batch_settlement_evm_cumulative_exceeds_balance";

    /// <summary>
    /// Whether this library can pay <paramref name="requirements"/> through a channel: batch-settlement in x402 version 2 on an EVM
    /// network, with EVM <c>asset</c> and <c>payTo</c>, a non-zero <c>extra.receiverAuthorizer</c>, a known
    /// <c>extra.assetTransferMethod</c>, and for ERC-3009 deposits the token's EIP-712 domain (<c>extra.name</c>/<c>version</c>).
    /// </summary>
    public static bool CanPay(PaymentRequirements requirements, out string error)
    {
        if (!V2Scheme.Matches(requirements, Name, out error))
        {
            return false;
        }

        // Any valid payer gives the same verdict on the requirement's own fields.
        if (!ChannelConfig.TryFromRequirements(requirements, ContractAddress, out _, out error))
        {
            return false;
        }

        return TryGetTransferMethod(requirements, out var method, out error)
            && (method == Permit2TransferMethod || Eip3009.HasTokenDomain(requirements, out error));
    }

    /// <summary>
    /// How deposits move the token, as the official client decides: <c>extra.assetTransferMethod</c>, <see cref="Eip3009TransferMethod"/>
    /// when absent; false (with the reason) for any other value.
    /// </summary>
    public static bool TryGetTransferMethod(PaymentRequirements requirements, out string method, out string error)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        method = (requirements.Extra is null ? null : X402Json.GetString(requirements.Extra, "assetTransferMethod")) ?? Eip3009TransferMethod;
        if (method is Eip3009TransferMethod or Permit2TransferMethod)
        {
            error = string.Empty;
            return true;
        }

        error = $"unsupported batch-settlement assetTransferMethod '{method}' (known: {Eip3009TransferMethod}, {Permit2TransferMethod})";
        return false;
    }

    /// <summary>The domain {"x402 Batch Settlement", "1", chainId, x402BatchSettlement}.</summary>
    public static JsonObject Domain(BigInteger chainId) => Eip712.Domain(DomainName, DomainVersion, chainId, ContractAddress);

    /// <summary>The EIP-712 separator of <see cref="Domain"/>, kept for the first <see cref="MaxCachedDomains"/> chains seen (computed for others).</summary>
    public static byte[] DomainSeparator(BigInteger chainId)
    {
        if (DomainSeparators.TryGetValue(chainId, out var separator))
        {
            return separator;
        }

        separator = Eip712.DomainSeparator(DomainName, DomainVersion, chainId, ContractAddress);
        if (DomainSeparators.Count < MaxCachedDomains)
        {
            DomainSeparators.TryAdd(chainId, separator);
        }

        return separator;
    }

    // A server names the network, so the cache is bounded.
    private const int MaxCachedDomains = 64;
    private static readonly ConcurrentDictionary<BigInteger, byte[]> DomainSeparators = new();

    /// <summary>The chain id of a CAIP-2 <c>eip155:N</c> network.</summary>
    /// <exception cref="ArgumentException">The network is not eip155.</exception>
    internal static BigInteger ChainId(string network) =>
        NetworkNames.TryGetEvmChainId(network, out var chainId) ? chainId : throw new ArgumentException($"network '{network}' is not an eip155 network", nameof(network));

    /// <summary>True for <c>0x</c> and 64 hex digits.</summary>
    public static bool IsBytes32(string? value) =>
        value is { Length: 66 } && value.StartsWith("0x", StringComparison.Ordinal) && !value.AsSpan(2).ContainsAnyExcept("0123456789abcdefABCDEF");
}
