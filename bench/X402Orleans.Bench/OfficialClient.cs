using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace X402Orleans.Bench;

/// <summary>Runs <c>tests/interop/bench-official-reuse.mjs</c>: the official @x402/fetch client with sign-in-with-x, timed in Node.</summary>
internal static class OfficialClient
{
    /// <summary>Installs the pinned npm packages when they are missing; returns why the client cannot run, or null.</summary>
    public static async Task<string?> PrepareAsync(string repoRoot)
    {
        var interop = Path.Combine(repoRoot, "tests", "interop");
        if (Directory.Exists(Path.Combine(interop, "node_modules", "@x402", "fetch")))
        {
            return null;
        }

        Console.Error.WriteLine("official client: installing the pinned npm packages (npm ci in tests/interop) …");
        try
        {
            var (code, _) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], interop, null, TimeSpan.FromMinutes(10));
            return code == 0 ? null : $"npm ci failed (exit {code})";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "npm is not installed";
        }
    }

    /// <summary>One run of the script for <paramref name="concurrency"/>; the script's own first call is excluded from the window.</summary>
    public static async Task<(LoadResult Result, double RoundTripsPerCall)> RunAsync(string repoRoot, Uri url, string privateKey, int concurrency, TimeSpan warmup, TimeSpan window)
    {
        var input = new JsonObject
        {
            ["url"] = url.AbsoluteUri,
            ["privateKey"] = privateKey,
            ["levels"] = new JsonArray(concurrency),
            ["durationMs"] = (int)window.TotalMilliseconds,
            ["warmupMs"] = (int)warmup.TotalMilliseconds,
        };
        var (code, stdout) = await RunAsync("node", ["bench-official-reuse.mjs"], Path.Combine(repoRoot, "tests", "interop"), input.ToJsonString(), window + warmup + TimeSpan.FromMinutes(2));
        if (code != 0)
        {
            throw new InvalidOperationException($"bench-official-reuse.mjs exited with {code}");
        }

        var level = JsonNode.Parse(stdout)!["levels"]![0]!;
        double D(string name) => level[name]?.GetValue<double>() ?? double.NaN;
        var result = new LoadResult(concurrency, (long)D("calls"), (long)D("errors"), D("seconds"), D("throughput"), D("p50_ms"), D("p99_ms"), D("mean_ms"));
        return (result, D("round_trips_per_call"));
    }

    private static async Task<(int Code, string Stdout)> RunAsync(string file, string[] args, string directory, string? stdin, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }

        var err = await stderr;
        if (process.ExitCode != 0 && err.Length > 0)
        {
            Console.Error.WriteLine(err.Length > 2000 ? err[^2000..] : err);
        }

        return (process.ExitCode, await stdout);
    }
}
