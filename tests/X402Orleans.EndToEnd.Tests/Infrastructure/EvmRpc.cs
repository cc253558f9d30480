using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>Reads the local chain over plain JSON-RPC (no library of ours involved): token balances are the observable truth.</summary>
public sealed class EvmRpc(Uri endpoint, HttpClient http)
{
    private int _id;

    /// <summary>ERC-20 <c>balanceOf(owner)</c> of <paramref name="token"/>, in atomic units.</summary>
    public async Task<BigInteger> BalanceOfAsync(string token, string owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var data = "0x70a08231" + owner[2..].ToLowerInvariant().PadLeft(64, '0');
        var result = await CallAsync("eth_call", new JsonArray(new JsonObject { ["to"] = token, ["data"] = data }, "latest"));
        return ParseQuantity(result!.GetValue<string>());
    }

    /// <summary>ERC-20 <c>allowance(owner, spender)</c> of <paramref name="token"/>, in atomic units.</summary>
    public async Task<BigInteger> AllowanceAsync(string token, string owner, string spender)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(spender);
        var data = "0xdd62ed3e" + owner[2..].ToLowerInvariant().PadLeft(64, '0') + spender[2..].ToLowerInvariant().PadLeft(64, '0');
        var result = await CallAsync("eth_call", new JsonArray(new JsonObject { ["to"] = token, ["data"] = data }, "latest"));
        return ParseQuantity(result!.GetValue<string>());
    }

    /// <summary>
    /// A view call: <paramref name="selector"/> (4-byte hex, <c>0x…</c>) with one 32-byte argument <paramref name="word"/> (hex, <c>0x…</c>)
    /// on <paramref name="contract"/>; returns the 32-byte words of the result.
    /// </summary>
    public async Task<IReadOnlyList<BigInteger>> CallWordsAsync(string contract, string selector, string word)
    {
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentNullException.ThrowIfNull(word);
        var data = selector + word[2..].ToLowerInvariant().PadLeft(64, '0');
        var result = (await CallAsync("eth_call", new JsonArray(new JsonObject { ["to"] = contract, ["data"] = data }, "latest")))!.GetValue<string>()[2..];
        return [.. Enumerable.Range(0, result.Length / 64).Select(i => ParseQuantity(result.Substring(i * 64, 64)))];
    }

    /// <summary>Transactions sent from <paramref name="address"/> so far (its nonce).</summary>
    public async Task<BigInteger> TransactionCountAsync(string address) => ParseQuantity((await CallAsync("eth_getTransactionCount", new JsonArray(address, "latest")))!.GetValue<string>());

    /// <summary>Native balance (wei) of <paramref name="owner"/>.</summary>
    public async Task<BigInteger> EthBalanceAsync(string owner) => ParseQuantity((await CallAsync("eth_getBalance", new JsonArray(owner, "latest")))!.GetValue<string>());

    /// <summary>
    /// The ERC-20 <c>Transfer</c> events <paramref name="token"/> emitted in a mined, successful transaction, as (from, to, value);
    /// fails when the transaction is unknown or reverted.
    /// </summary>
    public async Task<IReadOnlyList<(string From, string To, BigInteger Value)>> TransfersAsync(string transactionHash, string token)
    {
        var receipt = await ReceiptAsync(transactionHash) ?? throw new InvalidOperationException($"no receipt for {transactionHash}");
        if (receipt["status"]?.GetValue<string>() != "0x1")
        {
            throw new InvalidOperationException($"{transactionHash} reverted");
        }

        const string TransferTopic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
        return [.. receipt["logs"]!.AsArray().OfType<JsonObject>()
            .Where(l => string.Equals(l["address"]!.GetValue<string>(), token, StringComparison.OrdinalIgnoreCase) && l["topics"]![0]!.GetValue<string>() == TransferTopic)
            .Select(l => ("0x" + l["topics"]![1]!.GetValue<string>()[^40..], "0x" + l["topics"]![2]!.GetValue<string>()[^40..], ParseQuantity(l["data"]!.GetValue<string>())))];
    }

    /// <summary>The latest block number.</summary>
    public async Task<BigInteger> BlockNumberAsync() => ParseQuantity((await CallAsync("eth_blockNumber", []))!.GetValue<string>());

    /// <summary><c>eth_call</c> of <paramref name="data"/> on <paramref name="to"/> at the latest block; the returned data.</summary>
    public async Task<string> EthCallAsync(string to, string data) =>
        (await CallAsync("eth_call", new JsonArray(new JsonObject { ["to"] = to, ["data"] = data }, "latest")))!.GetValue<string>();

    /// <summary>Sets the native balance (wei) of <paramref name="owner"/> (anvil).</summary>
    public Task SetEthBalanceAsync(string owner, BigInteger wei) =>
        CallAsync("anvil_setBalance", new JsonArray(owner, "0x" + wei.ToString("x", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(1, '0')));

    /// <summary>Moves anvil's clock forward by <paramref name="seconds"/> and mines a block with the new time.</summary>
    public async Task IncreaseTimeAsync(long seconds)
    {
        await CallAsync("evm_increaseTime", new JsonArray(seconds));
        await CallAsync("evm_mine", []);
    }

    /// <summary>A transaction receipt, or null.</summary>
    public async Task<JsonObject?> ReceiptAsync(string transactionHash) => (await CallAsync("eth_getTransactionReceipt", new JsonArray(transactionHash))) as JsonObject;

    private async Task<JsonNode?> CallAsync(string method, JsonArray parameters)
    {
        var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = Interlocked.Increment(ref _id), ["method"] = method, ["params"] = parameters };
        using var response = await http.PostAsJsonAsync(endpoint, request);
        response.EnsureSuccessStatusCode();
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        if (json["error"] is { } error)
        {
            throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        }

        return json["result"];
    }

    private static BigInteger ParseQuantity(string hex)
    {
        var digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        return digits.Length == 0 ? BigInteger.Zero : BigInteger.Parse("0" + digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
