using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using X402Orleans.Gateway.Auth;
using X402Orleans.Gateway.Sessions;

namespace X402Orleans.Gateway.Tools;

/// <summary>
/// Runs a tool body for the calling agent and shapes the outcome: readable text plus <c>structuredContent</c> on success; an
/// <c>isError</c> result with an actionable message on an expected failure; a generic <c>isError</c> (details logged, never shown)
/// on anything else.
/// </summary>
public sealed partial class ToolRunner(ICallerResolver caller, ILogger<ToolRunner> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Runs <paramref name="body"/>; <paramref name="describe"/> renders the success text.</summary>
    public async Task<CallToolResult> RunAsync<T>(Func<string, Task<T>> body, Func<T, string> describe)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(describe);
        var agent = caller.CurrentAgentId;
        if (agent is null)
        {
            return Error("Not authenticated: send Authorization: Bearer <your API key>.");
        }

        try
        {
            var result = await body(agent);
            return new CallToolResult
            {
                Content = [new TextContentBlock { Text = describe(result) }],
                StructuredContent = JsonSerializer.SerializeToElement(result, Json),
            };
        }
        catch (ToolError ex)
        {
            return Error(ex.Message);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or InvalidOperationException)
        {
            Log.Unexpected(logger, ex);
            return Error("The session service is temporarily unavailable; retry the call.");
        }
    }

    /// <summary>An <c>isError</c> result.</summary>
    public static CallToolResult Error(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
    };

    private static partial class Log
    {
        [LoggerMessage(300, LogLevel.Error, "Tool call failed unexpectedly")]
        public static partial void Unexpected(ILogger logger, Exception exception);
    }
}
