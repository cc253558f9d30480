using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>A tool result as an agent sees it.</summary>
/// <param name="IsError">isError.</param>
/// <param name="Text">The text content.</param>
/// <param name="Structured">structuredContent (Undefined when absent).</param>
public sealed record ToolResult(bool IsError, string Text, JsonElement Structured)
{
    /// <summary>A top-level property of structuredContent.</summary>
    public JsonElement this[string name] => Structured.GetProperty(name);

    /// <summary>A string property of structuredContent.</summary>
    public string Str(string name) => Structured.GetProperty(name).GetString() ?? string.Empty;

    /// <summary>Asserts success; returns this.</summary>
    public ToolResult Ok()
    {
        Assert.False(IsError, $"expected success, got isError: {Text}");
        Assert.Equal(JsonValueKind.Object, Structured.ValueKind);
        return this;
    }

    /// <summary>Asserts isError; returns the text.</summary>
    public string Error()
    {
        Assert.True(IsError, $"expected isError, got success: {Text}");
        Assert.False(string.IsNullOrWhiteSpace(Text));
        return Text;
    }
}

/// <summary>The session tools, called through an MCP client.</summary>
public static class Tools
{
    /// <summary>Tool names (a contract).</summary>
    public const string Start = "x402_session_start", Fetch = "x402_session_fetch", Status = "x402_session_status", End = "x402_session_end";

    /// <summary>Calls a tool.</summary>
    public static async Task<ToolResult> CallAsync(this McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: limit.Token);
        var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));
        var structured = result.StructuredContent is { } content ? JsonSerializer.SerializeToElement(content) : default;
        return new ToolResult(result.IsError == true, text, structured);
    }

    /// <summary>x402_session_start on <paramref name="endpoint"/>.</summary>
    public static Task<ToolResult> StartAsync(this McpClient client, string endpoint, Dictionary<string, object?>? more = null)
    {
        var arguments = new Dictionary<string, object?>(more ?? []) { ["endpoint"] = endpoint };
        return client.CallAsync(Start, arguments);
    }

    /// <summary>x402_session_fetch.</summary>
    public static Task<ToolResult> FetchAsync(this McpClient client, string sessionId, string? url = null, Dictionary<string, object?>? more = null)
    {
        var arguments = new Dictionary<string, object?>(more ?? []) { ["session_id"] = sessionId };
        if (url is not null)
        {
            arguments["url"] = url;
        }

        return client.CallAsync(Fetch, arguments);
    }

    /// <summary>x402_session_status (one session, or the caller's active sessions).</summary>
    public static Task<ToolResult> StatusAsync(this McpClient client, string? sessionId = null) =>
        client.CallAsync(Status, sessionId is null ? [] : new Dictionary<string, object?> { ["session_id"] = sessionId });

    /// <summary>x402_session_end.</summary>
    public static Task<ToolResult> EndAsync(this McpClient client, string sessionId) =>
        client.CallAsync(End, new Dictionary<string, object?> { ["session_id"] = sessionId });
}
