using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

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
        var directory = InteropDirectory.Value;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(script);

        Process? started;
        try
        {
            started = Process.Start(start);
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"cannot run node (Node.js >= 20 must be on PATH): {ex.Message}", ex);
        }

        using var process = started ?? throw new InvalidOperationException($"could not start node {script}");
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        try
        {
            await process.StandardInput.WriteAsync(X402Json.Serialize(input));
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The script exited before reading its input; its exit code and stderr below say why.
        }

        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not answer within {Timeout.TotalSeconds:0} s; stderr:\n{await stderrTask}");
        }

        var stdout = await stdoutTask;
        var stderr = await stderrTask;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} exited with {process.ExitCode}; stderr:\n{stderr}");
        }

        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (line is null || !X402Json.TryParseObject(Encoding.UTF8.GetBytes(line), out var json, out var error))
        {
            throw new InvalidOperationException($"node {script} printed no JSON object on stdout ({stdout.Trim()}); stderr:\n{stderr}");
        }

        return json!;
    }

    private static string FindInteropDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "X402Orleans.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException($"no X402Orleans.sln above {AppContext.BaseDirectory}: cannot locate tests/interop");
        }

        var interop = Path.Combine(directory.FullName, "tests", "interop");
        if (!Directory.Exists(Path.Combine(interop, "node_modules")))
        {
            throw new InvalidOperationException($"{Path.Combine(interop, "node_modules")} is missing: run npm ci in tests/interop");
        }

        return interop;
    }
}
