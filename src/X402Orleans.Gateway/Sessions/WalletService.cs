using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Serialization;
using X402Orleans.Abstractions;
using X402Orleans.Payments;

namespace X402Orleans.Gateway.Sessions;

/// <summary>Spend and limits of one asset today.</summary>
public sealed record AssetBudget(
    [property: JsonPropertyName("symbol"), Description("Token symbol.")] string Symbol,
    [property: JsonPropertyName("network"), Description("CAIP-2 network.")] string Network,
    [property: JsonPropertyName("asset"), Description("Token contract address.")] string Asset,
    [property: JsonPropertyName("spent_today"), Description("What you (this agent) spent today, in the asset's units.")] string SpentToday,
    [property: JsonPropertyName("reserved_today"), Description("Your payments in flight.")] string ReservedToday,
    [property: JsonPropertyName("daily_limit"), Description("Your daily limit, or null for none.")] string? DailyLimit,
    [property: JsonPropertyName("remaining_today"), Description("What you may still spend today, or null when unlimited.")] string? RemainingToday,
    [property: JsonPropertyName("wallet_spent_today"), Description("What the whole wallet spent today across agents.")] string WalletSpentToday,
    [property: JsonPropertyName("wallet_daily_limit"), Description("The wallet's daily limit, or null for none.")] string? WalletDailyLimit,
    [property: JsonPropertyName("wallet_remaining_today"), Description("What the wallet may still spend today, or null when unlimited.")] string? WalletRemainingToday);

/// <summary>Output of x402_wallet_status.</summary>
public sealed record WalletStatusResult(
    [property: JsonPropertyName("address"), Description("The paying wallet's address.")] string Address,
    [property: JsonPropertyName("day"), Description("The UTC day the figures are for.")] string Day,
    [property: JsonPropertyName("max_payment"), Description("Default per-payment ceiling.")] string MaxPayment,
    [property: JsonPropertyName("assets"), Description("Per allowed asset.")] IReadOnlyList<AssetBudget> Assets);

/// <summary>One audited payment attempt.</summary>
public sealed record AttemptInfo(
    [property: JsonPropertyName("at"), Description("ISO-8601 time.")] string At,
    [property: JsonPropertyName("session_id"), Description("Session (all zeros for withdraw_initiated, withdrawn and claimed: written by the channel, not a session).")] string SessionId,
    [property: JsonPropertyName("url"), Description("Resource paid for.")] string Url,
    [property: JsonPropertyName("network"), Description("CAIP-2 network.")] string Network,
    [property: JsonPropertyName("asset"), Description("Token address.")] string Asset,
    [property: JsonPropertyName("amount_atomic"), Description("Price in atomic units (upto: what was charged, once settled; else the maximum).")] string AmountAtomic,
    [property: JsonPropertyName("pay_to"), Description("Recipient.")] string PayTo,
    [property: JsonPropertyName("outcome"), Description("settled, refused (by the server), unknown (no answer after paying), not_authorized (limits), not_selected (no acceptable option); batch-settlement also deposited (a deposit into the channel), refunded (the channel's rest returned), withdraw_initiated and withdrawn (the unilateral withdraw's transactions mined: amount asked for, amount returned) and claimed (the server claimed this much more from the channel, read on chain).")] string Outcome,
    [property: JsonPropertyName("transaction"), Description("Transaction hash, if settled.")] string? Transaction,
    [property: JsonPropertyName("reason"), Description("Why it did not settle.")] string? Reason,
    [property: JsonPropertyName("maximum_atomic"), Description("upto only: the maximum the signed permit authorised, atomic units (null for exact).")] string? MaximumAtomic = null);

/// <summary>Output of x402_payment_log.</summary>
public sealed record PaymentLogResult(
    [property: JsonPropertyName("attempts"), Description("Your payment attempts, newest first.")] IReadOnlyList<AttemptInfo> Attempts);

/// <summary>Wallet spend, limits and the audit log, for the calling agent (from the silo: this process holds no key and no limits).</summary>
public sealed class WalletService(IGrainFactory grains)
{
    /// <summary>The wallet's address, today's spend and what remains, per allowed asset.</summary>
    public async Task<WalletStatusResult> StatusAsync(string agentId)
    {
        var wallet = await grains.GetGrain<IWalletGrain>(0).GetStatus(agentId);
        var assets = wallet.Assets.Select(a =>
        {
            static BigInteger Parse(string? text) => text is null ? BigInteger.Zero : AtomicAmount.Parse(text);
            string Format(BigInteger atomic) => AtomicAmount.Format(atomic, a.Decimals);
            string? FormatLimit(string? limit) => limit is null ? null : Format(Parse(limit));
            string? Remaining(string? limit, BigInteger used) => limit is null ? null : Format(BigInteger.Max(BigInteger.Zero, Parse(limit) - used));
            var mine = Parse(a.AgentCommittedAtomic);
            var mineReserved = Parse(a.AgentReservedAtomic);
            var walletUsed = Parse(a.WalletCommittedAtomic) + Parse(a.WalletReservedAtomic);
            return new AssetBudget(
                a.Symbol, a.Network, a.Asset,
                Format(mine), Format(mineReserved), FormatLimit(a.AgentDailyLimitAtomic), Remaining(a.AgentDailyLimitAtomic, mine + mineReserved),
                Format(Parse(a.WalletCommittedAtomic)), FormatLimit(a.WalletDailyLimitAtomic), Remaining(a.WalletDailyLimitAtomic, walletUsed));
        }).ToList();
        return new WalletStatusResult(wallet.Address, wallet.Day.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), wallet.MaxPayment, assets);
    }

    /// <summary>The agent's payment attempts, newest first.</summary>
    public async Task<PaymentLogResult> LogAsync(string agentId, int? limit)
    {
        var take = limit ?? 50;
        if (take is < 1 or > 1000)
        {
            throw new ToolError($"limit must be between 1 and 1000 (got {take.ToString(CultureInfo.InvariantCulture)})");
        }

        var attempts = await grains.GetGrain<IAgentGrain>(agentId).ListAttempts(take);
        return new PaymentLogResult([.. attempts.Select(a => new AttemptInfo(
            SessionService.Iso(a.At), a.SessionId.ToString(), a.Url, a.Network, a.Asset, a.AmountAtomic, a.PayTo, a.Outcome, a.Transaction, a.Reason, a.MaximumAtomic))]);
    }
}
