using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace X402Orleans.Gateway.Tests;

/// <summary>A tool call's result as an agent sees it: isError, the text content, and structuredContent.</summary>
public sealed record ToolOutcome(bool IsError, string Text, JsonElement Structured)
{
    /// <summary>A top-level property of structuredContent.</summary>
    public JsonElement this[string name] => Structured.GetProperty(name);
}

/// <summary>Tool-call helpers.</summary>
public static class McpCalls
{
    public const string Start = "x402_session_start";
    public const string Fetch = "x402_session_fetch";
    public const string Status = "x402_session_status";
    public const string End = "x402_session_end";
    public const string WalletStatus = "x402_wallet_status";
    public const string PaymentLog = "x402_payment_log";

    /// <summary>Calls a tool and reads its outcome.</summary>
    public static async Task<ToolOutcome> CallAsync(this McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: timeout.Token);
        var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));
        var structured = result.StructuredContent is { } content ? JsonSerializer.SerializeToElement(content) : default;
        return new ToolOutcome(result.IsError == true, text, structured);
    }

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

    public static Task<ToolOutcome> StartAsync(this McpClient client, string endpoint, Dictionary<string, object?>? more = null)
    {
        var arguments = new Dictionary<string, object?>(more ?? []) { ["endpoint"] = endpoint };
        return client.CallAsync(Start, arguments);
    }

    public static Task<ToolOutcome> FetchAsync(this McpClient client, string sessionId, string? url = null, Dictionary<string, object?>? more = null)
    {
        var arguments = new Dictionary<string, object?>(more ?? []) { ["session_id"] = sessionId };
        if (url is not null)
        {
            arguments["url"] = url;
        }

        return client.CallAsync(Fetch, arguments);
    }

    public static Task<ToolOutcome> StatusAsync(this McpClient client, string? sessionId = null) =>
        client.CallAsync(Status, sessionId is null ? [] : new Dictionary<string, object?> { ["session_id"] = sessionId });

    public static Task<ToolOutcome> EndAsync(this McpClient client, string sessionId) =>
        client.CallAsync(End, new Dictionary<string, object?> { ["session_id"] = sessionId });

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
