using System.Text.Json;
using ModelContextProtocol.Client;

namespace X402Orleans.Bench;

/// <summary>
/// Reused <c>x402_session_fetch</c> by payment scheme, side by side on the same host (issue 14): <c>/demo/weather</c> (exact, paid
/// once at the start, then reused by sign-in-with-x: no payment per call) against <c>/demo/stream</c> (batch-settlement: the start
/// deposits into a channel, then every call pays 0.001 by one voucher, signed by the silo and verified by the paywall; deposits and
/// settlement simulated; a top-up deposit every 500 calls, as the deposit is 5 × the default max_payment of 0.10).
/// A channel takes one paid request at a time; one agent's parallel calls to a payee take a pool of channels (X402__Payments__
/// ChannelPoolSize, default 4, each with its own deposit). The measured runs gave each of the c workers its own agent (its own
/// MCP client, its own session on each route, its own channel): c sessions in parallel, none waiting on another's channel.
/// </summary>
internal static class SchemesBench
{
    public const string SiwxReuse = "siwx_reuse";
    public const string BatchVoucher = "batch_voucher";

    /// <summary>Calls in flight (= agents) per level.</summary>
    public static readonly IReadOnlyList<int> Concurrency = [1, 8];

    /// <summary>Agents the host needs for this step.</summary>
    public static int Agents => Concurrency.Max();

    /// <summary>Measures both scenarios at each level with <paramref name="measure"/> (name, concurrency, call of worker w).</summary>
    public static async Task<IReadOnlyList<LevelResult>> RunAsync(BenchHost host, Func<string, int, Func<int, Task<bool>>, Task<LoadResult>> measure)
    {
        var clients = new McpClient[Agents];
        try
        {
            var weather = new string[Agents];
            var stream = new string[Agents];
            for (var a = 0; a < Agents; a++)
            {
                clients[a] = await host.ConnectAsync(a);
                weather[a] = await StartAsync(clients[a], host.Url("/demo/weather"), "sign-in-with-x");
                stream[a] = await StartAsync(clients[a], host.Url("/demo/stream"), "paid");
            }

            Console.Error.WriteLine($"schemes: {Agents} agents, each with a session on /demo/weather (exact, reused by sign-in-with-x) and on /demo/stream (batch-settlement, one voucher per call)");
            var levels = new List<LevelResult>();
            foreach (var c in Concurrency)
            {
                var results = new Dictionary<string, LoadResult>(StringComparer.Ordinal)
                {
                    [SiwxReuse] = await measure(SiwxReuse, c, w => DurableBench.FetchAsync(clients[w], weather[w])),
                    [BatchVoucher] = await measure(BatchVoucher, c, w => DurableBench.FetchAsync(clients[w], stream[w])),
                };
                levels.Add(new LevelResult(c, results, Report.Ratios(results)));
            }

            return levels;
        }
        finally
        {
            foreach (var client in clients.OfType<McpClient>())
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Starts a session on <paramref name="endpoint"/> and checks that a reused fetch gets access the way the scenario says.</summary>
    private static async Task<string> StartAsync(McpClient client, string endpoint, string access)
    {
        var session = await DurableBench.StartSessionAsync(client, endpoint);
        var fetched = await client.CallToolAsync("x402_session_fetch", new Dictionary<string, object?> { ["session_id"] = session });
        var result = JsonSerializer.SerializeToElement(fetched.StructuredContent);
        if (fetched.IsError == true || result.GetProperty("status").GetInt32() != 200 || result.GetProperty("access").GetString() != access)
        {
            throw new InvalidOperationException($"a reused fetch of {endpoint} did not get access by {access}: {result}");
        }

        return session;
    }
}
