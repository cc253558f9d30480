using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace X402Orleans.Cluster.Tests;

/// <summary>A tool call's result as an agent sees it.</summary>
public sealed record ToolOutcome(bool IsError, string Text, JsonElement Structured)
{
    /// <summary>A top-level property of structuredContent.</summary>
    public JsonElement this[string name] => Structured.GetProperty(name);

    /// <summary>Asserts success; returns the outcome.</summary>
    public ToolOutcome Ok()
    {
        Assert.False(IsError, $"expected success, got error: {Text}");
        return this;
    }
}

/// <summary>An agent: the C# MCP client over Streamable HTTP with an API key.</summary>
public sealed class McpAgent : IAsyncDisposable
{
    private readonly McpClient _client;

    private McpAgent(McpClient client) => _client = client;

    /// <summary>Connects to <paramref name="mcp"/>.</summary>
    public static async Task<McpAgent> ConnectAsync(Uri mcp, string apiKey)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = mcp,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {apiKey}" },
            Name = "cluster-tests",
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return new McpAgent(await McpClient.CreateAsync(transport, cancellationToken: timeout.Token));
    }

    /// <summary>Calls a tool.</summary>
    public async Task<ToolOutcome> CallAsync(string tool, Dictionary<string, object?> arguments, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var result = await _client.CallToolAsync(tool, arguments, cancellationToken: cts.Token);
        var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));
        var structured = result.StructuredContent is { } content ? JsonSerializer.SerializeToElement(content) : default;
        return new ToolOutcome(result.IsError == true, text, structured);
    }

    /// <summary>x402_session_start.</summary>
    public Task<ToolOutcome> StartAsync(string endpoint, int ttlSeconds = 3600) =>
        CallAsync("x402_session_start", new() { ["endpoint"] = endpoint, ["ttl_seconds"] = ttlSeconds, ["scope"] = "exact" });

    /// <summary>x402_session_fetch.</summary>
    public Task<ToolOutcome> FetchAsync(string sessionId, TimeSpan? timeout = null) =>
        CallAsync("x402_session_fetch", new() { ["session_id"] = sessionId }, timeout);

    /// <summary>x402_session_status for one session, or all live ones.</summary>
    public Task<ToolOutcome> StatusAsync(string? sessionId = null) =>
        CallAsync("x402_session_status", sessionId is null ? [] : new() { ["session_id"] = sessionId });

    /// <summary>x402_session_end.</summary>
    public Task<ToolOutcome> EndAsync(string sessionId) => CallAsync("x402_session_end", new() { ["session_id"] = sessionId });

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}

/// <summary>What the tests compare about one session before and after a restart or failover.</summary>
public sealed record SessionView(string Id, string Status, long CallCount, string ExpiresAt, string? EndedAt, string Transactions)
{
    /// <summary>Reads the single session of an x402_session_status result.</summary>
    public static SessionView From(ToolOutcome status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var s = Assert.Single(status.Ok()["sessions"].EnumerateArray());
        var transactions = string.Join(",", s.GetProperty("payments").EnumerateArray().Select(p => p.GetProperty("transaction").GetString()));
        return new SessionView(
            s.GetProperty("session_id").GetString()!,
            s.GetProperty("status").GetString()!,
            s.GetProperty("call_count").GetInt64(),
            s.GetProperty("expires_at").GetString()!,
            s.TryGetProperty("ended_at", out var ended) && ended.ValueKind == JsonValueKind.String ? ended.GetString() : null,
            transactions);
    }
}
