using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Evm.Upto;

namespace X402Orleans.Grains.Payments;

/// <summary>What the chain says about an EIP-3009 authorization nonce.</summary>
/// <param name="Known">Whether the chain could be asked (an RPC endpoint is configured for the network and answered).</param>
/// <param name="Used">Whether the authorization was used (settled or cancelled on chain).</param>
/// <param name="Transaction">The transaction that used it, when found.</param>
/// <param name="AmountAtomic">
/// <c>upto</c>: what that transaction transferred from the payer to the payee (the amount the server charged), when found.
/// </param>
public sealed record AuthorizationOnChain(bool Known, bool Used, string? Transaction, string? AmountAtomic = null)
{
    /// <summary>The chain could not be asked.</summary>
    public static readonly AuthorizationOnChain Unknown = new(false, false, null);
}

/// <summary>What the chain says about a batch-settlement channel (the x402BatchSettlement contract's <c>channels(id)</c>, <c>refundNonce(id)</c>).</summary>
/// <param name="Known">Whether the chain could be asked (an RPC endpoint is configured for the network and answered).</param>
/// <param name="Balance">Deposited, minus refunds and withdrawals (claimed funds stay counted until settled out).</param>
/// <param name="TotalClaimed">What the receiver has claimed.</param>
/// <param name="RefundNonce">Cooperative refunds made.</param>
public sealed record ChannelChainState(bool Known, BigInteger Balance, BigInteger TotalClaimed, BigInteger RefundNonce)
{
    /// <summary>The chain could not be asked.</summary>
    public static readonly ChannelChainState Unknown = new(false, BigInteger.Zero, BigInteger.Zero, BigInteger.Zero);
}

/// <summary>Reads a batch-settlement channel's on-chain state (recovery only: a refund whose answer a crash or a timeout lost).</summary>
public interface IChannelStateReader
{
    /// <summary>The channel <paramref name="channelId"/> on <paramref name="network"/>; Unknown when the chain cannot be asked.</summary>
    Task<ChannelChainState> ReadChannelAsync(string network, string channelId, CancellationToken cancellationToken);
}

/// <summary>
/// Reads an authorization's on-chain state: the token's <c>authorizationState(authorizer, nonce)</c> (EIP-3009, <c>exact</c>) or
/// Permit2's <c>nonceBitmap(owner, wordPos)</c> (<c>upto</c>).
/// </summary>
public interface IAuthorizationStateReader
{
    /// <summary>The state of <paramref name="nonce"/> of <paramref name="payer"/> on <paramref name="token"/>; Unknown when the chain cannot be asked.</summary>
    Task<AuthorizationOnChain> ReadAsync(string network, string token, string payer, string nonce, CancellationToken cancellationToken);

    /// <summary>
    /// Whether Permit2's unordered <paramref name="nonce"/> (a decimal uint256) of <paramref name="owner"/> is used (settled for a
    /// non-zero amount, or invalidated); Unknown when the chain cannot be asked. The transaction is not looked up.
    /// </summary>
    Task<AuthorizationOnChain> ReadPermit2NonceAsync(string network, string owner, string nonce, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ReadPermit2NonceAsync"/>, and when the nonce is used, the settlement too: the newest <paramref name="token"/>
    /// transfer from <paramref name="owner"/> to <paramref name="payTo"/> whose transaction's call data carries the nonce gives the
    /// transaction and the amount charged (both null when none is found).
    /// </summary>
    Task<AuthorizationOnChain> ReadPermit2SettlementAsync(string network, string token, string owner, string payTo, string nonce, CancellationToken cancellationToken);
}

/// <summary>
/// Reads <c>authorizationState(address,bytes32)</c> (EIP-3009) by <c>eth_call</c> on the network's configured JSON-RPC endpoint
/// (<see cref="PaymentRules.RpcEndpoints"/>), and the transaction from the token's <c>AuthorizationUsed</c> log. Used only to
/// resolve a payment whose outcome a crash left unknown, never on a hot path; bounded by a short timeout. For <c>upto</c> it reads
/// Permit2's nonce bitmap the same way, and (as <see cref="IPermit2TokenReader"/>) the payer's Permit2 allowance and EIP-2612 nonce
/// when a 402 offers <c>eip2612GasSponsoring</c>.
/// </summary>
public sealed class RpcAuthorizationStateReader(PaymentRules rules, HttpClient http) : IAuthorizationStateReader, IPermit2TokenReader, IChannelStateReader
{
    private static readonly string RefundNonceSelector = AbiWord.Selector("refundNonce(bytes32)");

    private const string AuthorizationStateSelector = "e94a0102";
    private const string AllowanceSelector = "dd62ed3e";
    private const string NoncesSelector = "7ecebe00";
    private static readonly string NonceBitmapSelector = AbiWord.Selector("nonceBitmap(address,uint256)");

    /// <inheritdoc />
    public async Task<AuthorizationOnChain> ReadPermit2NonceAsync(string network, string owner, string nonce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (!rules.RpcEndpoints.TryGetValue(network, out var endpoint) || !BigInteger.TryParse(nonce, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return AuthorizationOnChain.Unknown;
        }

        try
        {
            // Permit2's unordered nonces: word = nonce >> 8, bit = nonce & 0xff.
            var word = await CallAsync(endpoint, Permit2.Address, NonceBitmapSelector + Word(owner) + Uint(value >> 8), cancellationToken);
            return word is null ? AuthorizationOnChain.Unknown : new AuthorizationOnChain(true, !((word.Value >> (int)(value & 0xff)) & 1).IsZero, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException)
        {
            return AuthorizationOnChain.Unknown;
        }
    }

    /// <inheritdoc />
    public async Task<AuthorizationOnChain> ReadPermit2SettlementAsync(string network, string token, string owner, string payTo, string nonce, CancellationToken cancellationToken)
    {
        var state = await ReadPermit2NonceAsync(network, owner, nonce, cancellationToken);
        if (!state.Known || !state.Used || !rules.RpcEndpoints.TryGetValue(network, out var endpoint))
        {
            return state;
        }

        try
        {
            var nonceWord = Uint(BigInteger.Parse(nonce, NumberStyles.None, CultureInfo.InvariantCulture));
            var filter = new JsonObject
            {
                ["address"] = token,
                ["fromBlock"] = "0x0",
                ["toBlock"] = "latest",
                ["topics"] = new JsonArray(TransferTopic, "0x" + Word(owner), "0x" + Word(payTo)),
            };
            var logs = (await RpcAsync(endpoint, "eth_getLogs", new JsonArray(filter), cancellationToken) as JsonArray ?? []).OfType<JsonObject>().Reverse();
            foreach (var log in logs)
            {
                if (log["transactionHash"]?.GetValue<string>() is not { } hash || log["data"]?.GetValue<string>() is not { Length: > 2 } data)
                {
                    continue;
                }

                // The permit's nonce is one ABI word of the settling call (the proxy's settle / settleWithPermit, or any caller's).
                var input = (await RpcAsync(endpoint, "eth_getTransactionByHash", new JsonArray(hash), cancellationToken))?["input"]?.GetValue<string>() ?? string.Empty;
                for (var at = 10; at + 64 <= input.Length; at += 64)
                {
                    if (string.Compare(input, at, nonceWord, 0, 64, StringComparison.OrdinalIgnoreCase) == 0)
                    {
                        var amount = BigInteger.Parse("0" + data[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                        return state with { Transaction = hash, AmountAtomic = amount.ToString(CultureInfo.InvariantCulture) };
                    }
                }
            }

            return state;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            // used, but the settlement could not be looked up: the caller counts the maximum
            return state;
        }
    }

    /// <inheritdoc />
    public async ValueTask<BigInteger?> ReadPermit2AllowanceAsync(string network, string token, string owner, CancellationToken cancellationToken) =>
        rules.RpcEndpoints.TryGetValue(network, out var endpoint)
            ? await CallAsync(endpoint, token, AllowanceSelector + Word(owner) + Word(Permit2.Address), cancellationToken)
            : null;

    /// <inheritdoc />
    public async ValueTask<BigInteger> ReadPermitNonceAsync(string network, string token, string owner, CancellationToken cancellationToken) =>
        rules.RpcEndpoints.TryGetValue(network, out var endpoint)
            && await CallAsync(endpoint, token, NoncesSelector + Word(owner), cancellationToken) is { } nonce
            ? nonce
            : throw new InvalidOperationException($"the EIP-2612 nonce could not be read on {network}");

    /// <inheritdoc />
    public async Task<ChannelChainState> ReadChannelAsync(string network, string channelId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (!rules.RpcEndpoints.TryGetValue(network, out var endpoint))
        {
            return ChannelChainState.Unknown;
        }

        try
        {
            var contract = BatchSettlementScheme.ContractAddress;
            var channel = WithdrawCalls.ReadChannel(await EthCallAsync(endpoint, contract, WithdrawCalls.ChannelsCall(channelId), cancellationToken));
            var refunds = await CallAsync(endpoint, contract, RefundNonceSelector + Word(channelId), cancellationToken);
            return channel is not null && refunds is { } nonce
                ? new ChannelChainState(true, channel.Balance, channel.TotalClaimed, nonce)
                : ChannelChainState.Unknown;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException)
        {
            return ChannelChainState.Unknown;
        }
    }

    // One eth_call returning a uint256 word; null when the node's answer is not one.
    private async Task<BigInteger?> CallAsync(Uri endpoint, string to, string data, CancellationToken cancellationToken) =>
        await EthCallAsync(endpoint, to, "0x" + data, cancellationToken) is { Length: > 2 and <= 66 } hex && hex.StartsWith("0x", StringComparison.Ordinal)
            ? BigInteger.Parse("0" + hex[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : null;

    // One eth_call; the returned data as the node sent it, null when that is not a string.
    private async Task<string?> EthCallAsync(Uri endpoint, string to, string data, CancellationToken cancellationToken) =>
        await RpcAsync(endpoint, "eth_call", new JsonArray(new JsonObject { ["to"] = to, ["data"] = data }, "latest"), cancellationToken) is JsonValue value
        && value.TryGetValue<string>(out var hex)
            ? hex
            : null;

    private static string Uint(BigInteger value) => AbiWord.Uint(value);
    private static readonly string AuthorizationUsedTopic = AbiWord.Topic("AuthorizationUsed(address,bytes32)");
    private static readonly string TransferTopic = AbiWord.Topic("Transfer(address,address,uint256)");

    /// <inheritdoc />
    public async Task<AuthorizationOnChain> ReadAsync(string network, string token, string payer, string nonce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (!rules.RpcEndpoints.TryGetValue(network, out var endpoint))
        {
            return AuthorizationOnChain.Unknown;
        }

        try
        {
            var payerWord = Word(payer);
            var nonceWord = Word(nonce);
            var call = new JsonObject { ["to"] = token, ["data"] = "0x" + AuthorizationStateSelector + payerWord + nonceWord };
            var result = await RpcAsync(endpoint, "eth_call", new JsonArray(call, "latest"), cancellationToken);
            if (result is not JsonValue value || !value.TryGetValue<string>(out var hex) || hex.Length < 3)
            {
                return AuthorizationOnChain.Unknown;
            }

            var used = hex.AsSpan(2).TrimStart('0').Length > 0;
            if (!used)
            {
                return new AuthorizationOnChain(true, false, null);
            }

            var filter = new JsonObject
            {
                ["address"] = token,
                ["fromBlock"] = "0x0",
                ["toBlock"] = "latest",
                ["topics"] = new JsonArray(AuthorizationUsedTopic, "0x" + payerWord, "0x" + nonceWord),
            };
            var logs = await RpcAsync(endpoint, "eth_getLogs", new JsonArray(filter), cancellationToken) as JsonArray;
            var transaction = logs is { Count: > 0 } && logs[0]?["transactionHash"] is JsonValue tx && tx.TryGetValue<string>(out var hash) ? hash : null;
            return new AuthorizationOnChain(true, true, transaction);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException)
        {
            return AuthorizationOnChain.Unknown;
        }
    }

    // A node's error answer reads as no result, as a missing one does.
    private async Task<JsonNode?> RpcAsync(Uri endpoint, string method, JsonArray parameters, CancellationToken cancellationToken)
    {
        try
        {
            return await new EvmRpc(http, endpoint).RequestAsync(method, parameters, cancellationToken);
        }
        catch (EvmRpcException)
        {
            return null;
        }
    }

    // A 32-byte ABI word (lower-case hex, no 0x) of an address or a bytes32.
    private static string Word(string hex) => AbiWord.Hex(hex);
}
