using System.Text.Json;

namespace X402Orleans.Gateway.Tests;

/// <summary>Tool names and assertions on tool results (calls: <see cref="McpTools"/>).</summary>
public static class McpCalls
{
    public const string Start = McpTools.Start;
    public const string Fetch = McpTools.Fetch;
    public const string Status = McpTools.Status;
    public const string End = McpTools.End;
    public const string WalletStatus = "x402_wallet_status";
    public const string PaymentLog = "x402_payment_log";
    public const string ChannelWithdraw = "x402_channel_withdraw";

    /// <summary>Asserts success with readable text; returns the outcome.</summary>
    public static ToolOutcome Ok(this ToolOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Assert.False(outcome.IsError, $"expected success, got error: {outcome.Text}");
        Assert.False(string.IsNullOrWhiteSpace(outcome.Text));
        Assert.Equal(JsonValueKind.Object, outcome.Structured.ValueKind);
        return outcome;
    }

    /// <summary>Asserts an isError result with readable text; returns the text.</summary>
    public static string Error(this ToolOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Assert.True(outcome.IsError, $"expected isError, got success: {outcome.Text}");
        Assert.False(string.IsNullOrWhiteSpace(outcome.Text));
        return outcome.Text;
    }

    /// <summary>The session ids listed by a status result.</summary>
    public static IReadOnlyList<string> SessionIds(this ToolOutcome status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return [.. status["sessions"].EnumerateArray().Select(s => s.GetProperty("session_id").GetString()!)];
    }

    /// <summary>The single session of a status result for one session_id.</summary>
    public static JsonElement Single(this ToolOutcome status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return Assert.Single(status["sessions"].EnumerateArray());
    }

    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()!;

    public static long Num(this JsonElement element, string name) => element.GetProperty(name).GetInt64();
}
