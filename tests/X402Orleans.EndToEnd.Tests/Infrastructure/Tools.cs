using System.Text.Json;
using ModelContextProtocol.Client;
using X402Orleans.Testing;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>The session tools, called through an MCP client (with a longer limit than the shared default: calls here settle on a chain).</summary>
public static class Tools
{
    /// <summary>Tool names (a contract).</summary>
    public const string Start = McpTools.Start, Fetch = McpTools.Fetch, Status = McpTools.Status, End = McpTools.End;

    /// <summary>The per-call limit here.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>Calls a tool.</summary>
    public static Task<ToolOutcome> CallAsync(this McpClient client, string tool, Dictionary<string, object?> arguments) =>
        McpTools.CallAsync(client, tool, arguments, Timeout);

    /// <summary>x402_session_start on <paramref name="endpoint"/>.</summary>
    public static Task<ToolOutcome> StartAsync(this McpClient client, string endpoint, Dictionary<string, object?>? more = null) =>
        McpTools.StartAsync(client, endpoint, more, Timeout);

    /// <summary>x402_session_fetch.</summary>
    public static Task<ToolOutcome> FetchAsync(this McpClient client, string sessionId, string? url = null, Dictionary<string, object?>? more = null) =>
        McpTools.FetchAsync(client, sessionId, url, more, Timeout);

    /// <summary>x402_session_status (one session, or the caller's active sessions).</summary>
    public static Task<ToolOutcome> StatusAsync(this McpClient client, string? sessionId = null) => McpTools.StatusAsync(client, sessionId, Timeout);

    /// <summary>x402_session_end.</summary>
    public static Task<ToolOutcome> EndAsync(this McpClient client, string sessionId) => McpTools.EndAsync(client, sessionId, Timeout);

    /// <summary>A string property of structuredContent.</summary>
    public static string Str(this ToolOutcome result, string name)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Structured.GetProperty(name).GetString() ?? string.Empty;
    }

    /// <summary>A string property of an element of structuredContent (empty when null).</summary>
    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString() ?? string.Empty;

    /// <summary>Asserts success; returns the result.</summary>
    public static ToolOutcome Ok(this ToolOutcome result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Assert.False(result.IsError, $"expected success, got isError: {result.Text}");
        Assert.Equal(JsonValueKind.Object, result.Structured.ValueKind);
        return result;
    }

    /// <summary>Asserts isError; returns the text.</summary>
    public static string Error(this ToolOutcome result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Assert.True(result.IsError, $"expected isError, got success: {result.Text}");
        Assert.False(string.IsNullOrWhiteSpace(result.Text));
        return result.Text;
    }
}
