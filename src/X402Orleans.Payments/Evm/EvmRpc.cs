using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Evm;

/// <summary>A transaction's receipt: whether it succeeded, its block's number and the logs it emitted.</summary>
/// <param name="Succeeded">status 1.</param>
/// <param name="BlockNumber">The block that holds it.</param>
/// <param name="Logs">Its logs (address, topics, data).</param>
public sealed record EvmReceipt(bool Succeeded, BigInteger BlockNumber, IReadOnlyList<JsonObject> Logs);

/// <summary>An error answer of a JSON-RPC node (its message, e.g. a revert reason or "nonce too low").</summary>
public sealed class EvmRpcException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EvmRpcException()
    {
    }

    /// <summary>Creates the exception with the node's message.</summary>
    public EvmRpcException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public EvmRpcException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The few Ethereum JSON-RPC calls the client makes, on one node: reads (<c>eth_call</c>, logs, transactions, receipts, blocks,
/// fees, the sender's nonce) and <c>eth_sendRawTransaction</c> of a transaction the wallet signed. Transport errors surface as
/// <see cref="HttpRequestException"/> / <see cref="TaskCanceledException"/>; a node's error answer as <see cref="EvmRpcException"/>.
/// </summary>
public sealed class EvmRpc(HttpClient http, Uri endpoint)
{
    /// <summary>The node.</summary>
    public Uri Endpoint { get; } = endpoint;

    /// <summary>Sends one JSON-RPC request; returns its <c>result</c> (null for a JSON null).</summary>
    /// <exception cref="EvmRpcException">The node answered with an error.</exception>
    public async Task<JsonNode?> RequestAsync(string method, JsonArray parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = method, ["params"] = parameters };
        using var response = await http.PostAsJsonAsync(Endpoint, request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        if (body?["error"] is JsonObject error)
        {
            throw new EvmRpcException(error["message"]?.GetValue<string>() ?? error.ToJsonString());
        }

        return body?["result"];
    }

    /// <summary><c>eth_call</c> at the latest block; the returned data (<c>0x</c> + hex).</summary>
    public async Task<string> CallAsync(string to, string data, CancellationToken cancellationToken) =>
        (await RequestAsync("eth_call", new JsonArray(new JsonObject { ["to"] = to, ["data"] = data }, "latest"), cancellationToken))?.GetValue<string>() ?? "0x";

    /// <summary>The number of transactions <paramref name="address"/> has sent, counting the node's pending ones (its next nonce).</summary>
    public async Task<BigInteger> GetTransactionCountAsync(string address, CancellationToken cancellationToken) =>
        Quantity(await RequestAsync("eth_getTransactionCount", new JsonArray(address, "pending"), cancellationToken));

    /// <summary>The number of transactions <paramref name="address"/> has in mined blocks.</summary>
    public async Task<BigInteger> GetMinedTransactionCountAsync(string address, CancellationToken cancellationToken) =>
        Quantity(await RequestAsync("eth_getTransactionCount", new JsonArray(address, "latest"), cancellationToken));

    /// <summary>The latest block's base fee (0 before London) and timestamp (unix seconds).</summary>
    public async Task<(BigInteger BaseFee, long Timestamp)> GetLatestBlockAsync(CancellationToken cancellationToken)
    {
        var block = await RequestAsync("eth_getBlockByNumber", new JsonArray("latest", false), cancellationToken) as JsonObject
            ?? throw new EvmRpcException("the node returned no latest block");
        return (block["baseFeePerGas"] is null ? BigInteger.Zero : Quantity(block["baseFeePerGas"]), (long)Quantity(block["timestamp"]));
    }

    /// <summary>The node's suggested priority fee (<c>eth_maxPriorityFeePerGas</c>).</summary>
    public async Task<BigInteger> GetMaxPriorityFeeAsync(CancellationToken cancellationToken) =>
        Quantity(await RequestAsync("eth_maxPriorityFeePerGas", [], cancellationToken));

    /// <summary>The gas the call would use (<c>eth_estimateGas</c>); the node's error (e.g. a revert) as <see cref="EvmRpcException"/>.</summary>
    public async Task<BigInteger> EstimateGasAsync(string from, string to, string data, CancellationToken cancellationToken) =>
        Quantity(await RequestAsync("eth_estimateGas", new JsonArray(new JsonObject { ["from"] = from, ["to"] = to, ["data"] = data }), cancellationToken));

    /// <summary>Broadcasts a raw signed transaction; returns its hash.</summary>
    public async Task<string> SendRawTransactionAsync(string rawTransaction, CancellationToken cancellationToken) =>
        (await RequestAsync("eth_sendRawTransaction", new JsonArray(rawTransaction), cancellationToken))?.GetValue<string>() ?? Eip1559Transaction.HashOf(rawTransaction);

    /// <summary>Whether the node knows the transaction (pending or mined).</summary>
    public async Task<bool> IsKnownAsync(string hash, CancellationToken cancellationToken) =>
        await RequestAsync("eth_getTransactionByHash", new JsonArray(hash), cancellationToken) is JsonObject;

    /// <summary>The transaction's receipt; null while it is not mined (or unknown).</summary>
    public async Task<EvmReceipt?> GetReceiptAsync(string hash, CancellationToken cancellationToken) =>
        await RequestAsync("eth_getTransactionReceipt", new JsonArray(hash), cancellationToken) is JsonObject receipt
            ? new EvmReceipt(Quantity(receipt["status"]) == 1, Quantity(receipt["blockNumber"]), [.. (receipt["logs"] as JsonArray ?? []).OfType<JsonObject>()])
            : null;

    /// <summary>The timestamp (unix seconds) of block <paramref name="number"/>.</summary>
    public async Task<long> GetBlockTimestampAsync(BigInteger number, CancellationToken cancellationToken) =>
        (long)Quantity((await RequestAsync("eth_getBlockByNumber", new JsonArray("0x" + number.ToString("x", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(1, '0'), false), cancellationToken))?["timestamp"]);

    /// <summary>A JSON-RPC quantity (<c>0x</c> hex) as an integer.</summary>
    /// <exception cref="FormatException">Not a hex quantity.</exception>
    public static BigInteger Quantity(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var hex) && hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? BigInteger.Parse("0" + hex[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : throw new FormatException("not a JSON-RPC quantity");
}
