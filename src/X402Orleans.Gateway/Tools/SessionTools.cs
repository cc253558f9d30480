using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using ModelContextProtocol.Server;
using X402Orleans.Gateway.Sessions;

namespace X402Orleans.Gateway.Tools;

/// <summary>The four session tools. Thin: bind arguments, call <see cref="SessionService"/>, shape the result.</summary>
[McpServerToolType]
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "Tool argument names are a snake_case wire contract.")]
[SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "Tool argument names are a snake_case wire contract.")]
public sealed class SessionTools(SessionService sessions, ToolRunner runner)
{
    /// <summary>x402_session_start.</summary>
    [McpServerTool(Name = "x402_session_start", Title = "Start an x402 session", UseStructuredContent = true, OutputSchemaType = typeof(StartResult), Destructive = false, Idempotent = false, OpenWorld = true)]
    [Description("Start a paid session for an HTTP endpoint: makes the first request, and if the server answers 402 Payment Required, pays once with the wallet (x402 'exact' USDC transfer) within max_payment and retries. Later calls go through x402_session_fetch and reuse access by sign-in-with-x when the server offers it. Returns session_id, expiry, the payment (or 'no payment required') and the first response.")]
    public Task<ModelContextProtocol.Protocol.CallToolResult> Start(
        [Description("Absolute http(s) URL of the paid endpoint, e.g. https://api.example.com/v1/weather.")] string endpoint,
        [Description("'prefix' (default): the endpoint's path and everything below it; 'exact': only the endpoint's path.")] string? scope = null,
        [Description("Session lifetime in seconds, 60..2592000 (default 3600).")] int? ttl_seconds = null,
        [Description("Your label for the session, at most 100 characters.")] string? label = null,
        [Description("Most this session may pay per payment, as a decimal in the asset's units: a string such as \"0.01\" USDC or a JSON number, taken from its exact text (default from configuration).")] string? max_payment = null,
        [Description("HTTP method of the first request: GET (default), POST, PUT, PATCH, DELETE or HEAD.")] string? method = null,
        [Description("Extra request headers as an object of name → value. Payment and sign-in headers and Host are set by the gateway.")] Dictionary<string, string>? headers = null,
        [Description("Request body (sent as UTF-8, application/json unless a content-type header is given).")] string? body = null,
        [Description("Timeout of the whole call in milliseconds, 1000..60000 (default 30000).")] int? timeout_ms = null,
        [Description("Optional key: repeating a start with the same key returns the same session and pays once.")] string? idempotency_key = null,
        [Description("Whether later calls may pay again (within max_payment) when the server demands it, e.g. pay-per-call endpoints or new paths (default true).")] bool? allow_repeat_payments = null,
        [Description("Most this session may pay in total per asset, as a decimal in the asset's units: a string such as \"0.05\" or a JSON number, taken from its exact text (default from configuration; none if unset).")] string? max_total = null,
        CancellationToken cancellationToken = default) =>
        runner.RunAsync(
            agent => sessions.StartAsync(agent, new StartArguments(endpoint, scope, ttl_seconds, label, max_payment, method, headers, body, timeout_ms, idempotency_key, allow_repeat_payments, max_total), cancellationToken),
            r => $"Session {r.SessionId} started for {r.Endpoint} ({r.Scope}), expires {r.ExpiresAt}. {(r.Payment is { } p ? $"Paid {p.Amount} {p.Symbol} on {p.Network}{(p.Simulated ? " (simulated settlement)" : string.Empty)}." : $"Payment: {r.PaymentNote}.")} Reuse: {r.Reuse}. First response: HTTP {r.Response.Status}.");

    /// <summary>x402_session_fetch.</summary>
    [McpServerTool(Name = "x402_session_fetch", Title = "Call through an x402 session", UseStructuredContent = true, OutputSchemaType = typeof(FetchResult), Destructive = false, Idempotent = false, OpenWorld = true)]
    [Description("Call a URL inside a session's scope, reusing its access (sign-in-with-x proof sent proactively; pays again within max_payment only if the server demands it and the session allows it). Returns status, selected headers, body (truncated to the configured size) and the session's call_count.")]
    public Task<ModelContextProtocol.Protocol.CallToolResult> Fetch(
        [Description("The session_id returned by x402_session_start.")] string session_id,
        [Description("URL to call; must be inside the session's scope. Default: the session's endpoint.")] string? url = null,
        [Description("HTTP method: GET (default), POST, PUT, PATCH, DELETE or HEAD.")] string? method = null,
        [Description("Extra request headers as an object of name → value.")] Dictionary<string, string>? headers = null,
        [Description("Request body (UTF-8).")] string? body = null,
        [Description("Timeout of the whole call in milliseconds, 1000..60000 (default 30000).")] int? timeout_ms = null,
        CancellationToken cancellationToken = default) =>
        runner.RunAsync(
            agent => sessions.FetchAsync(agent, new FetchArguments(session_id, url, method, headers, body, timeout_ms), cancellationToken),
            r => $"HTTP {r.Status} from {r.Url} (access: {r.Access}{(r.Payment is { } p ? $", paid {p.Amount} {p.Symbol}" : string.Empty)}; call {r.CallCount}).\n{r.Body}{(r.Truncated ? "\n[truncated]" : string.Empty)}");

    /// <summary>x402_session_status.</summary>
    [McpServerTool(Name = "x402_session_status", Title = "Show x402 sessions", UseStructuredContent = true, OutputSchemaType = typeof(StatusResult), ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Show one session in detail (endpoint, scope, status, expiry, call count, payments), or, without session_id, your active sessions, oldest first, one page at a time: pass the returned next_cursor as cursor for the next page (next_cursor is null after the last page; a page may hold fewer than limit sessions).")]
    public Task<ModelContextProtocol.Protocol.CallToolResult> Status(
        [Description("A session_id; omit to list your active sessions.")] string? session_id = null,
        [Description("Without session_id: the next_cursor of the previous page; omit for the first page.")] string? cursor = null,
        [Description("Without session_id: most sessions per page, 1..200 (default 50).")] int? limit = null) =>
        runner.RunAsync(
            agent => sessions.StatusAsync(agent, session_id, cursor, limit),
            r => (r.Sessions.Count == 0
                ? "No active sessions."
                : string.Join("\n", r.Sessions.Select(s => $"{s.SessionId}: {s.Status}, {s.Endpoint} ({s.Scope}), {s.CallCount} calls, expires {s.ExpiresAt}, paid {(s.TotalPaid.Count == 0 ? "nothing" : string.Join(" + ", s.TotalPaid.Select(t => $"{t.Amount} {t.Symbol}")))}")))
                + (r.NextCursor is null ? string.Empty : $"\nMore sessions: call again with cursor {r.NextCursor}."));

    /// <summary>x402_session_end.</summary>
    [McpServerTool(Name = "x402_session_end", Title = "End an x402 session", UseStructuredContent = true, OutputSchemaType = typeof(EndResult), Destructive = true, Idempotent = true, OpenWorld = false)]
    [Description("End a session: it can no longer be used. Reports the endpoint, calls made and total paid. An expired session is reported as 'already expired'.")]
    public Task<ModelContextProtocol.Protocol.CallToolResult> End(
        [Description("The session_id to end.")] string session_id) =>
        runner.RunAsync(
            agent => sessions.EndAsync(agent, session_id),
            r => r.Outcome == "ended"
                ? $"Session {r.SessionId} ended: {r.Endpoint}, {r.CallCount} calls, paid {(r.TotalPaid.Count == 0 ? "nothing" : string.Join(" + ", r.TotalPaid.Select(t => $"{t.Amount} {t.Symbol}")))}."
                : $"Session {r.SessionId} {r.Outcome}: {r.Endpoint}, {r.CallCount} calls.");
}
