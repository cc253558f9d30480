using System.Diagnostics;

namespace X402Orleans.Bench;

/// <summary>Latency and throughput of one scenario at one concurrency.</summary>
internal sealed record LoadResult(int Concurrency, long Calls, long Errors, double Seconds, double Throughput, double P50Ms, double P99Ms, double MeanMs, string? FirstError = null);

/// <summary>Closed-loop load: <c>concurrency</c> workers each call, wait for the answer, call again, until the window closes.</summary>
internal static class LoadRunner
{
    /// <summary>Warms up, then measures one window. <paramref name="call"/> gets the worker index and returns whether the call succeeded.</summary>
    public static async Task<LoadResult> RunAsync(int concurrency, TimeSpan warmup, TimeSpan window, Func<int, Task<bool>> call)
    {
        await RunWindowAsync(concurrency, warmup, call, record: false);
        return await RunWindowAsync(concurrency, window, call, record: true);
    }

    private static async Task<LoadResult> RunWindowAsync(int concurrency, TimeSpan window, Func<int, Task<bool>> call, bool record)
    {
        var latencies = new List<double>[concurrency];
        var errors = new long[concurrency];
        string? firstError = null;
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(window.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(4096);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var t0 = Stopwatch.GetTimestamp();
                bool ok;
                try
                {
                    ok = await call(w);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    ok = false;
                    Interlocked.CompareExchange(ref firstError, $"{ex.GetType().Name}: {ex.Message}", null);
                }

                if (ok)
                {
                    if (record)
                    {
                        mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    }
                }
                else
                {
                    errors[w]++;
                    if (errors[w] > 1000)
                    {
                        break;
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new LoadResult(
            concurrency,
            all.Length,
            errors.Sum(),
            seconds,
            all.Length / seconds,
            Percentile(all, 50),
            Percentile(all, 99),
            all.Length == 0 ? double.NaN : all.Average(),
            firstError);
    }

    /// <summary>Prints one result line on stderr (progress while the run goes on).</summary>
    public static void Print(string name, LoadResult r) =>
        Console.Error.WriteLine($"  {name,-15} c={r.Concurrency,-3} {r.Throughput,8:F0} calls/s  p50 {r.P50Ms,7:F3} ms  p99 {r.P99Ms,7:F3} ms  errors {r.Errors}{(r.FirstError is null ? string.Empty : $" ({r.FirstError})")}");

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
