using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace X402Orleans.Testing;

/// <summary>A tool call's result as an agent sees it: isError, the text content, and structuredContent (Undefined when absent).</summary>
public sealed record ToolOutcome(bool IsError, string Text, JsonElement Structured)
{
    /// <summary>A top-level property of structuredContent.</summary>
    public JsonElement this[string name] => Structured.GetProperty(name);
}

/// <summary>Connecting to the gateway's MCP endpoint and calling its session tools with the C# MCP SDK client.</summary>
public static class McpTools
{
    /// <summary>Tool names (a contract).</summary>
    public const string Start = "x402_session_start", Fetch = "x402_session_fetch", Status = "x402_session_status", End = "x402_session_end";

    /// <summary>The per-call limit when a caller gives none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>An MCP client over Streamable HTTP to <paramref name="endpoint"/>, presenting <paramref name="apiKey"/> as a bearer token (none when null).</summary>
    public static async Task<McpClient> ConnectAsync(Uri endpoint, string? apiKey, string name)
    {
        var headers = new Dictionary<string, string>();
        if (apiKey is not null)
        {
            headers["Authorization"] = $"Bearer {apiKey}";
        }

        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers,
            Name = name,
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await McpClient.CreateAsync(transport, cancellationToken: timeout.Token);
    }

    /// <summary>Calls a tool and reads its outcome.</summary>
    public static async Task<ToolOutcome> CallAsync(this McpClient client, string tool, Dictionary<string, object?> arguments, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var limit = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: limit.Token);
        var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));
        var structured = result.StructuredContent is { } content ? JsonSerializer.SerializeToElement(content) : default;
        return new ToolOutcome(result.IsError == true, text, structured);
    }

    /// <summary>x402_session_start on <paramref name="endpoint"/>, with <paramref name="more"/> arguments.</summary>
    public static Task<ToolOutcome> StartAsync(this McpClient client, string endpoint, Dictionary<string, object?>? more = null, TimeSpan? timeout = null)
    {
        var arguments = new Dictionary<string, object?>(more ?? []) { ["endpoint"] = endpoint };
        return client.CallAsync(Start, arguments, timeout);
    }

    /// <summary>x402_session_fetch (on <paramref name="url"/> when given).</summary>
    public static Task<ToolOutcome> FetchAsync(this McpClient client, string sessionId, string? url = null, Dictionary<string, object?>? more = null, TimeSpan? timeout = null)
    {
        var arguments = new Dictionary<string, object?>(more ?? []) { ["session_id"] = sessionId };
        if (url is not null)
        {
            arguments["url"] = url;
        }

        return client.CallAsync(Fetch, arguments, timeout);
    }

    /// <summary>x402_session_status (one session, or the first 200 of the caller's active sessions, the most one page holds).</summary>
    public static Task<ToolOutcome> StatusAsync(this McpClient client, string? sessionId = null, TimeSpan? timeout = null) =>
        client.CallAsync(Status, sessionId is null ? new Dictionary<string, object?> { ["limit"] = 200 } : new Dictionary<string, object?> { ["session_id"] = sessionId }, timeout);

    /// <summary>x402_session_end.</summary>
    public static Task<ToolOutcome> EndAsync(this McpClient client, string sessionId, TimeSpan? timeout = null) =>
        client.CallAsync(End, new Dictionary<string, object?> { ["session_id"] = sessionId }, timeout);
}
