using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using X402Orleans.Gateway.Sessions;

namespace X402Orleans.Gateway.Tools;

/// <summary>Wallet spend and the payment audit log, for the calling agent.</summary>
[McpServerToolType]
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "Tool argument names are a snake_case wire contract.")]
public sealed class WalletTools(WalletService wallet, ToolRunner runner)
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
}
