using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using X402Orleans.Gateway.Sessions;

namespace X402Orleans.Gateway.Tools;

/// <summary>Wallet spend, the payment audit log, and taking the wallet's money back out of a channel, for the calling agent.</summary>
[McpServerToolType]
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "Tool argument names are a snake_case wire contract.")]
[SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "Tool argument names are a snake_case wire contract.")]
public sealed class WalletTools(WalletService wallet, ChannelWithdrawService withdraws, ToolRunner runner)
{
    /// <summary>x402_wallet_status.</summary>
    [McpServerTool(Name = "x402_wallet_status", Title = "Show wallet spend and limits", UseStructuredContent = true, OutputSchemaType = typeof(WalletStatusResult), ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Show the paying wallet's address and, per allowed asset, what you spent today (UTC), your daily limit and what remains, and the same for the whole wallet.")]
    public Task<CallToolResult> Status() =>
        runner.RunAsync(
            wallet.StatusAsync,
            r => $"Wallet {r.Address}, {r.Day}: " + string.Join("; ", r.Assets.Select(a => $"{a.Symbol} on {a.Network}: spent {a.SpentToday}{(a.RemainingToday is null ? string.Empty : $", {a.RemainingToday} left of {a.DailyLimit}")}")));

    /// <summary>x402_payment_log.</summary>
    [McpServerTool(Name = "x402_payment_log", Title = "List your payment attempts", UseStructuredContent = true, OutputSchemaType = typeof(PaymentLogResult), ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("List your payment attempts, newest first: session, resource, price, recipient, outcome (settled, refused, unknown, not_authorized, not_selected), transaction and reason.")]
    public Task<CallToolResult> Log(
        [Description("How many attempts to return, 1..1000 (default 50).")] int? limit = null) =>
        runner.RunAsync(
            agent => wallet.LogAsync(agent, limit),
            r => r.Attempts.Count == 0 ? "No payment attempts." : string.Join("\n", r.Attempts.Select(a => $"{a.At} {a.Outcome} {a.AmountAtomic} (atomic) to {a.PayTo} for {a.Url}{(a.Reason is null ? string.Empty : $": {a.Reason}")}")));

    /// <summary>x402_channel_withdraw.</summary>
    [McpServerTool(Name = "x402_channel_withdraw", Title = "Withdraw from a batch-settlement channel without the server", UseStructuredContent = true, OutputSchemaType = typeof(WithdrawResult), Destructive = true, Idempotent = true, OpenWorld = true)]
    [Description("Take the wallet's money back out of one of your batch-settlement channels when its server no longer cooperates (no refund at x402_session_end): 'initiate' sends initiateWithdraw on chain (from then on the channel signs no voucher), then after the channel's withdraw delay (at least 15 minutes, chain time) 'finalize' sends finalizeWithdraw and the unclaimed balance returns to the wallet; 'status' shows where it stands. Each step is one on-chain transaction paid in gas by the wallet; calling a step again resolves the transaction already sent instead of sending another. Needs a JSON-RPC node configured for the channel's network.")]
    public Task<CallToolResult> Withdraw(
        [Description("'initiate' (step 1), 'finalize' (step 2, after the delay) or 'status' (default: read-only).")] string? action = null,
        [Description("A session of yours that paid through the channel (its session_id); give this or channel.")] string? session_id = null,
        [Description("The channel as network/channel_id, e.g. eip155:8453/0x3f… (x402_session_status shows the network and channel_id), or the bare channel id; give this or session_id.")] string? channel = null,
        CancellationToken cancellationToken = default) =>
        runner.RunAsync(
            agent => withdraws.RunAsync(agent, session_id, channel, action, cancellationToken),
            r => $"Channel {r.Channel} ({r.Phase}): {r.Message}."
                + (r.Transactions.Count == 0 ? string.Empty : " Transactions: " + string.Join(", ", r.Transactions.Select(t => $"{t.Step} {t.Hash} {t.Status}")) + ".")
                + (r.FinalizableAt is { } at && r.Phase == "withdrawing" ? $" Finalizable from {at}." : string.Empty));
}
