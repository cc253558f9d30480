using System.Text.Json;
using ModelContextProtocol.Client;

namespace X402Orleans.Cluster.Tests;

/// <summary>Assertions on a tool call's result.</summary>
public static class ToolOutcomeAssertions
{
    /// <summary>Asserts success; returns the outcome.</summary>
    public static ToolOutcome Ok(this ToolOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Assert.False(outcome.IsError, $"expected success, got error: {outcome.Text}");
        return outcome;
    }
}

/// <summary>An agent: the C# MCP client over Streamable HTTP with an API key.</summary>
public sealed class McpAgent : IAsyncDisposable
{
    private readonly McpClient _client;

    private McpAgent(McpClient client) => _client = client;

    /// <summary>Connects to <paramref name="mcp"/>.</summary>
    public static async Task<McpAgent> ConnectAsync(Uri mcp, string apiKey) => new(await McpTools.ConnectAsync(mcp, apiKey, "cluster-tests"));

    /// <summary>Calls a tool.</summary>
    public Task<ToolOutcome> CallAsync(string tool, Dictionary<string, object?> arguments, TimeSpan? timeout = null) =>
        _client.CallAsync(tool, arguments, timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>x402_session_start.</summary>
    public Task<ToolOutcome> StartAsync(string endpoint, int ttlSeconds = 3600) =>
        _client.StartAsync(endpoint, new() { ["ttl_seconds"] = ttlSeconds, ["scope"] = "exact" });

    /// <summary>x402_session_fetch.</summary>
    public Task<ToolOutcome> FetchAsync(string sessionId, TimeSpan? timeout = null) => _client.FetchAsync(sessionId, timeout: timeout);

    /// <summary>x402_session_status for one session, or all live ones.</summary>
    public Task<ToolOutcome> StatusAsync(string? sessionId = null) => _client.StatusAsync(sessionId);

    /// <summary>x402_session_end.</summary>
    public Task<ToolOutcome> EndAsync(string sessionId) => _client.EndAsync(sessionId);

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
