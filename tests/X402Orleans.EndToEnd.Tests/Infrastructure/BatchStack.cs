using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The <c>batch-settlement</c> stack from <c>tests/interop/batch-chain.mjs</c> (script mode), as a child process: anvil with Permit2
/// and OUR batch-settlement contracts at their canonical addresses, our token, the OFFICIAL facilitator (upto + batch-settlement,
/// receiver authorizer, pays the gas) over HTTP and the OFFICIAL batch-settlement resource server (<c>@x402/express</c> +
/// <c>@x402/evm/batch-settlement/server</c>). Its routes <c>/api/:ns/metered</c>, <c>…/metered/quick</c> (maxTimeoutSeconds 1) and
/// <c>…/metered/slow</c> (answers after <c>?ms=</c>) each cost at most <see cref="Maximum"/> and are charged <see cref="Charge"/>;
/// <see cref="ClaimAsync"/> makes the server claim and settle now (its official channel manager).
/// </summary>
public sealed class BatchStack : NodeStack
{
    /// <summary>The server's name in <c>/stats</c> and <c>payTo</c>.</summary>
    public const string ServerName = "batch";

    // channels(bytes32) → (uint128 balance, uint128 totalClaimed); refundNonce(bytes32) → uint256 (our contracts/BatchSettlement.sol)
    private const string ChannelsSelector = "0x7a7ebd7b", RefundNonceSelector = "0xf0dc792e";

    private BatchStack(Launched launched)
        : base(launched)
    {
    }

    /// <summary>Origin of the official batch-settlement resource server.</summary>
    public string Server => Origin(ServerName);

    /// <summary>Recipient of the server's payments (the channel's receiver).</summary>
    public string Payee => PayTo(ServerName);

    /// <summary>The most one request costs (atomic units); the server's <c>minDeposit</c> hint is 10 × this.</summary>
    public BigInteger Maximum => Price("batchPrice");

    /// <summary>What each request is charged (atomic units).</summary>
    public BigInteger Charge => Price("batchCharge");

    /// <summary>The x402BatchSettlement contract (canonical address).</summary>
    public string BatchSettlement => Text("batchSettlement");

    /// <summary>
    /// Starts the stack with <paramref name="fundedWallets"/> payers and <c>metered</c>'s maxTimeoutSeconds =
    /// <paramref name="timeout"/> (a request's lease at the payer ends 15 s after it), and waits for its ready line.
    /// </summary>
    public static async Task<BatchStack> StartAsync(int fundedWallets, TimeSpan timeout) =>
        new(await LaunchAsync("batch-chain.mjs", new JsonObject { ["fundedWallets"] = fundedWallets, ["unapprovedWallets"] = 0, ["batchTimeoutSeconds"] = (int)timeout.TotalSeconds }));

    /// <summary>A test's own path prefix (<c>/api/{ns}/</c>) and its <c>metered</c> route's URL.</summary>
    public (string Prefix, string Endpoint) NewMeteredRoute()
    {
        var prefix = $"/api/{StackFixture.NewNamespace()}/";
        return (prefix, Server + prefix + "metered");
    }

    /// <summary>The channel on chain: (balance, totalClaimed, refundNonce).</summary>
    public async Task<(BigInteger Balance, BigInteger TotalClaimed, BigInteger RefundNonce)> ChannelAsync(string channelId)
    {
        var channel = await Chain.CallWordsAsync(BatchSettlement, ChannelsSelector, channelId);
        var nonce = await Chain.CallWordsAsync(BatchSettlement, RefundNonceSelector, channelId);
        return (channel[0], channel[1], nonce[0]);
    }

    /// <summary>Makes the official server claim every charged voucher and settle to <see cref="Payee"/> now; returns what it did.</summary>
    public async Task<JsonObject> ClaimAsync() => JsonNode.Parse(await PostControlAsync("/batch/claim"))!.AsObject();

    /// <summary>Makes the official server settle to <see cref="Payee"/> whatever is claimed but not settled yet (refunds claim first).</summary>
    public Task SettleAsync() => PostControlAsync("/batch/settle");
}

/// <summary>The official batch-settlement server's observations (<c>/stats</c> → <c>batch</c>).</summary>
public static class BatchStats
{
    /// <summary>Payment headers the server received under <paramref name="pathPrefix"/>: kind (deposit, voucher, refund), ceiling, status, error.</summary>
    public static IReadOnlyList<JsonObject> Payments(this StackStats stats, string pathPrefix)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return stats.PaidRequests(BatchStack.ServerName, pathPrefix);
    }

    /// <summary>The server's channel record (its storage) for <paramref name="channelId"/>, or null (none, or deleted after a refund).</summary>
    public static JsonObject? Channel(this StackStats stats, string channelId)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return stats.Entries(BatchStack.ServerName, "channels").FirstOrDefault(c => string.Equals(c["channelId"]!.GetValue<string>(), channelId, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>An atomic amount of a JSON string field.</summary>
    public static BigInteger Atomic(this JsonObject entry, string name)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return BigInteger.Parse(entry[name]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
