using System.Numerics;
using System.Text.Json;
using ModelContextProtocol.Client;
using X402Orleans.Payments;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>x402_wallet_status of the calling agent for the one configured asset (6 decimals), in atomic units.</summary>
/// <param name="Spent">spent_today (the agent).</param>
/// <param name="Reserved">reserved_today (the agent).</param>
/// <param name="WalletSpent">wallet_spent_today (every agent of the wallet).</param>
public readonly record struct WalletBudget(BigInteger Spent, BigInteger Reserved, BigInteger WalletSpent)
{
    private const int Decimals = 6;

    /// <summary>Reads x402_wallet_status.</summary>
    public static async Task<WalletBudget> ReadAsync(McpClient client)
    {
        var asset = (await client.CallAsync("x402_wallet_status", [])).Ok()["assets"].EnumerateArray().Single();
        return new WalletBudget(Atomic(asset, "spent_today"), Atomic(asset, "reserved_today"), Atomic(asset, "wallet_spent_today"));

        static BigInteger Atomic(JsonElement asset, string name) =>
            AtomicAmount.TryParseDecimal(asset.GetProperty(name).GetString()!, Decimals, out var value, out var why) ? value : throw new FormatException($"{name}: {why}");
    }
}
