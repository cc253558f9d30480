using System.Diagnostics;
using ModelContextProtocol.Client;

namespace X402Orleans.Bench;

/// <summary>An agent's early starts against its late ones: does the cost of a start grow with the agent's history?</summary>
/// <param name="Starts">Starts made by the one agent.</param>
/// <param name="Window">Starts in each compared window.</param>
/// <param name="FirstP50Ms">p50 of the first <paramref name="Window"/> starts (after the warm-up starts).</param>
/// <param name="LastP50Ms">p50 of the last <paramref name="Window"/> starts.</param>
/// <param name="Seconds">Time for all starts.</param>
/// <param name="Errors">Starts that failed.</param>
internal sealed record StartHistoryResult(int Starts, int Window, double FirstP50Ms, double LastP50Ms, double Seconds, long Errors)
{
    /// <summary>last p50 / first p50.</summary>
    public double LastOverFirstP50 => LastP50Ms / FirstP50Ms;
}

/// <summary>The same reuse measured on a host with in-memory grain state, for the in-memory target.</summary>
/// <param name="Direct">direct_http at c=1.</param>
/// <param name="Gateway">gateway_fetch at c=1.</param>
internal sealed record MemoryComparison(LoadResult Direct, LoadResult Gateway);

/// <summary>Scenarios of the durable (SQLite file) default: session starts and an agent's start history.</summary>
internal static class DurableBench
{
    /// <summary>The demo route that asks for a payment on every request (0.002 USDC, no sign-in): every start pays.</summary>
    public const string PaidRoute = "/demo/quote";

    /// <summary>The demo route that asks for nothing.</summary>
    public const string FreeRoute = "/demo/free";

    /// <summary>One <c>x402_session_start</c>; true when it started (and, on a paid route, paid).</summary>
    public static async Task<bool> StartAsync(McpClient client, string endpoint, bool mustPay)
    {
        var started = await StartCoreAsync(client, endpoint);
        return !mustPay || started.GetProperty("payment").ValueKind == System.Text.Json.JsonValueKind.Object;
    }

    /// <summary>One <c>x402_session_fetch</c> on <paramref name="sessionId"/>; true when it succeeded.</summary>
    public static async Task<bool> FetchAsync(McpClient client, string sessionId) =>
        (await client.CallToolAsync("x402_session_fetch", new Dictionary<string, object?> { ["session_id"] = sessionId })).IsError != true;

    /// <summary>One <c>x402_noop</c> (the diagnostics tool: transport and auth only); true when it succeeded.</summary>
    public static async Task<bool> NoopAsync(McpClient client) =>
        (await client.CallToolAsync("x402_noop", new Dictionary<string, object?> { ["echo"] = "x" })).IsError != true;

    /// <summary>Starts a session and returns its id.</summary>
    public static async Task<string> StartSessionAsync(McpClient client, string endpoint) =>
        (await StartCoreAsync(client, endpoint)).GetProperty("session_id").GetString()!;

    private static async Task<System.Text.Json.JsonElement> StartCoreAsync(McpClient client, string endpoint)
    {
        var result = await client.CallToolAsync("x402_session_start", new Dictionary<string, object?> { ["endpoint"] = endpoint, ["ttl_seconds"] = 3600 });
        if (result.IsError == true)
        {
            throw new InvalidOperationException("x402_session_start failed: " + string.Join(" ", result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(t => t.Text)));
        }

        return System.Text.Json.JsonSerializer.SerializeToElement(result.StructuredContent);
    }

    /// <summary>
    /// <paramref name="starts"/> starts by one agent, <paramref name="workers"/> in flight, each timed by its position in the
    /// agent's history; compares the p50 of the first and the last <paramref name="window"/> (the first 200 are warm-up).
    /// </summary>
    public static async Task<StartHistoryResult> HistoryAsync(McpClient[] clients, string endpoint, int starts, int workers, int window)
    {
        var latencies = new double[starts];
        long next = -1, errors = 0;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < starts)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await StartAsync(clients[w % clients.Length], endpoint, mustPay: false);
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (i % 10_000 == 0 && i > 0)
                {
                    Console.Error.WriteLine($"  start history: {i:N0} / {starts:N0}");
                }
            }
        })));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var warmup = Math.Min(200, starts / 10);
        var w2 = Math.Min(window, (starts - warmup) / 2);
        return new StartHistoryResult(starts, w2, P50(latencies.Skip(warmup).Take(w2)), P50(latencies.Skip(starts - w2)), seconds, errors);
    }

    /// <summary>Bytes of a SQLite database with its write-ahead log.</summary>
    public static long DatabaseBytes(string path) => FileBytes(path) + FileBytes(path + "-wal");

    /// <summary>Bytes of one file (0 when it does not exist).</summary>
    public static long FileBytes(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static double P50(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }
}
