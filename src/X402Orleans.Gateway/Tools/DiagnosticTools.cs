using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace X402Orleans.Gateway.Tools;

/// <summary>What <c>x402_noop</c> returns.</summary>
/// <param name="Agent">The calling agent.</param>
/// <param name="Echo">The text sent.</param>
public sealed record NoopResult(string Agent, string Echo);

/// <summary>
/// Diagnostics only, off by default (<c>X402:Diagnostics:NoopTool=true</c> registers it): <c>x402_noop</c> goes through the same
/// transport, authentication and <see cref="ToolRunner"/> as the session tools but touches no grain and no network. Benchmarks use it
/// as the MCP transport floor.
/// </summary>
[McpServerToolType]
public sealed class DiagnosticTools(ToolRunner runner)
{
    /// <summary>The setting that registers the tool.</summary>
    public const string NoopToolSetting = "X402:Diagnostics:NoopTool";

    /// <summary>x402_noop.</summary>
    [McpServerTool(Name = "x402_noop", Title = "No-op (diagnostics)", UseStructuredContent = true, OutputSchemaType = typeof(NoopResult), ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Diagnostics: returns at once, touching no session, grain or network. Measures the MCP transport floor.")]
    public Task<CallToolResult> Noop(
        [Description("Any text; echoed back.")] string? echo = null) =>
        runner.RunAsync(agent => Task.FromResult(new NoopResult(agent, echo ?? string.Empty)), r => $"ok ({r.Agent})");
}
