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

    /// <summary>The latest block number.</summary>
    public async Task<BigInteger> BlockNumberAsync() => ParseQuantity((await CallAsync("eth_blockNumber", []))!.GetValue<string>());

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
