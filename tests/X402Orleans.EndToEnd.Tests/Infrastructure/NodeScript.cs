using System.Text.Json.Nodes;
using X402Orleans.Testing;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>The Node scripts in tests/interop (see tests/interop/README.md).</summary>
internal static class NodeScript
{
    /// <summary>Runs a script in tests/interop with JSON on stdin and parses the one JSON line it prints.</summary>
    public static async Task<JsonObject> RunAsync(string script, JsonObject input, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(input);
        var line = await ChildProcess.RunNodeScriptAsync(script, Prerequisites.Interop, input.ToJsonString(), timeout);
        return JsonNode.Parse(line) is JsonObject json
            ? json
            : throw new InvalidOperationException($"node {script} printed no JSON object: {line}");
    }
}
