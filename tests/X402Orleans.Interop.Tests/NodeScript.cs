using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;
using X402Orleans.Testing;

namespace X402Orleans.Interop.Tests;

/// <summary>
/// Runs one of the Node scripts in <c>tests/interop</c> (the official x402 packages) with a JSON object on stdin and parses the
/// single JSON line it prints on stdout. A crash, a timeout or unparsable output fails with the script's stderr in the message.
/// </summary>
internal static class NodeScript
{
    /// <summary>Per-call limit; a script normally answers in about a second.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly Lazy<string> InteropDirectory = new(FindInteropDirectory);

    /// <summary>Runs <c>node &lt;script&gt;</c> in <c>tests/interop</c> and returns its JSON answer.</summary>
    public static async Task<JsonObject> RunAsync(string script, JsonObject input)
    {
        var line = await ChildProcess.RunNodeScriptAsync(script, InteropDirectory.Value, X402Json.Serialize(input), Timeout);
        if (!X402Json.TryParseObject(Encoding.UTF8.GetBytes(line), out var json, out _))
        {
            throw new InvalidOperationException($"node {script} printed no JSON object on stdout ({line})");
        }

        return json!;
    }

    private static string FindInteropDirectory()
    {
        var root = RepositoryRoot.TryFind()
            ?? throw new InvalidOperationException($"no X402Orleans.sln above {AppContext.BaseDirectory}: cannot locate tests/interop");
        var interop = Path.Combine(root, "tests", "interop");
        if (!Directory.Exists(Path.Combine(interop, "node_modules")))
        {
            throw new InvalidOperationException($"{Path.Combine(interop, "node_modules")} is missing: run npm ci in tests/interop");
        }

        return interop;
    }
}
