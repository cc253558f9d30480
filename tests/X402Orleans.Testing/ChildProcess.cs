using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace X402Orleans.Testing;

/// <summary>What a finished child process printed.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Stdout">Everything on stdout.</param>
/// <param name="Stderr">Everything on stderr.</param>
public sealed record ProcessOutput(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The output for an assertion message (stderr clipped to its end).</summary>
    public string Describe() => $"exit {ExitCode}\n--- stdout ---\n{Clip(Stdout)}\n--- stderr ---\n{Clip(Stderr)}";

    /// <summary>The last non-empty line of stdout (trimmed), or null when it printed nothing.</summary>
    public string? LastLine => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();

    private static string Clip(string text) => text.Length <= 6000 ? text : "…" + text[^6000..];
}

/// <summary>Runs short-lived child processes with a hard time limit; a process that overstays is killed with its children.</summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="fileName"/> to completion, feeding <paramref name="stdin"/> (then closing it).</summary>
    public static async Task<ProcessOutput> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        string? stdin = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return await RunAsync(start, timeout, stdin);
    }

    /// <summary>Runs <paramref name="start"/> to completion (its output redirected and read to the end), feeding <paramref name="stdin"/>.</summary>
    public static async Task<ProcessOutput> RunAsync(ProcessStartInfo start, TimeSpan timeout, string? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Start(start);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It exited before reading its input: the exit code and stderr say why.
        }

        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s\n{new ProcessOutput(-1, await stdout, await stderr).Describe()}");
        }

        return new ProcessOutput(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Runs <c>node &lt;script&gt;</c> in <paramref name="workingDirectory"/> with <paramref name="stdin"/> and returns the last line it
    /// printed on stdout (the scripts in tests/interop answer with one JSON line). A non-zero exit or no output fails with the output.
    /// </summary>
    public static async Task<string> RunNodeScriptAsync(string script, string workingDirectory, string stdin, TimeSpan timeout)
    {
        var output = await RunAsync("node", [script], workingDirectory, timeout, stdin);
        if (output.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} failed: {output.Describe()}");
        }

        return output.LastLine ?? throw new InvalidOperationException($"node {script} printed nothing on stdout: {output.Describe()}");
    }

    /// <summary>Starts a process, turning "not found" into a prerequisite failure.</summary>
    public static Process Start(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Prerequisite missing: cannot run {start.FileName} ({ex.Message}); Node.js >= 20 must be on PATH", ex);
        }
    }
}
