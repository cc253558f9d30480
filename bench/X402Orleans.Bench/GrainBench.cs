using System.Diagnostics;
using System.Runtime;
using X402Orleans.Abstractions;

namespace X402Orleans.Bench;

/// <summary>Authorisation-turn rates of the session grain.</summary>
internal sealed record AuthorizationResult(LoadResult OneSession, LoadResult ManySessions, LoadResult ManySessionsBeginCall);

/// <summary>Memory and time of N sessions on this silo.</summary>
internal sealed record ScaleResult(
    int Sessions,
    int Agents,
    double CreateSeconds,
    double SessionsPerSecond,
    long BaselineRssBytes,
    long BaselineHeapBytes,
    long PeakRssBytes,
    long RssAfterCreateBytes,
    long HeapAfterCreateBytes,
    long ActivationsAfterCreate,
    double DeactivateSeconds,
    long ActivationsAfterIdle,
    long RssAfterIdleBytes,
    long HeapAfterIdleBytes,
    string Storage,
    GcPauses? CreatePauses = null);

/// <summary>
/// The GC's stop-the-world time while the sessions were created: its total, the gen-2 collections (the silo's
/// ActivationMemoryCollector induces some above the activation memory limit), and the longest full blocking collection's pause
/// seen (sampled every 5 s: the newest such collection at each sample).
/// </summary>
internal sealed record GcPauses(double TotalSeconds, int Gen2Collections, double LongestFullBlockingMs);

/// <summary>The session grain alone: its authorisation turn, and N sessions' memory.</summary>
internal static class GrainBench
{
    private const string Endpoint = "https://api.example.com/v1/weather";

    /// <summary>Opens and activates a session the way a start does (without the HTTP exchange).</summary>
    public static async Task<ISessionGrain> NewSessionAsync(IGrainFactory grains, string agent)
    {
        var grain = grains.GetGrain<ISessionGrain>(Guid.NewGuid());
        var opened = await grain.Open(new OpenSessionCommand(agent, Endpoint, "prefix", null, TimeSpan.FromHours(1), "0.10", true));
        if (!opened.Succeeded)
        {
            throw new InvalidOperationException(opened.Message);
        }

        var activated = await grain.Activate(agent, ReuseMode.SignInWithX, Endpoint);
        return activated.Succeeded ? grain : throw new InvalidOperationException(activated.Message);
    }

    /// <summary>AuthorizeCall on one session (sequential: the grain is non-reentrant) and on <paramref name="parallel"/> sessions.</summary>
    public static async Task<AuthorizationResult> AuthorizationAsync(IGrainFactory grains, int parallel, TimeSpan warmup, TimeSpan window)
    {
        Console.Error.WriteLine("session grain: authorisation turn …");
        const string agent = "bench-authorize";
        var sessions = new ISessionGrain[parallel];
        for (var i = 0; i < parallel; i++)
        {
            sessions[i] = await NewSessionAsync(grains, agent);
        }

        var url = Endpoint + "/today";
        var one = await LoadRunner.RunAsync(1, warmup, window, async _ => (await sessions[0].AuthorizeCall(agent, url)).Allowed);
        Console.Error.WriteLine($"  authorisation turn, 1 session: {one.Throughput:F0}/s");
        var many = await LoadRunner.RunAsync(parallel, warmup, window, async w => (await sessions[w].AuthorizeCall(agent, url)).Allowed);
        Console.Error.WriteLine($"  authorisation turn, {parallel} sessions: {many.Throughput:F0}/s");
        var pair = await LoadRunner.RunAsync(parallel, warmup, window, async w => (await sessions[w].BeginCall(agent, url, Guid.NewGuid())).Allowed);
        Console.Error.WriteLine($"  BeginCall (a fetch's one grain turn: authorise, count, persist), {parallel} sessions: {pair.Throughput:F0}/s");
        return new AuthorizationResult(one, many, pair);
    }

    /// <summary>Creates <paramref name="count"/> sessions (Open + Activate, spread over agents), then lets them go idle and deactivate.</summary>
    public static async Task<ScaleResult> ScaleAsync(IGrainFactory grains, int count, int perAgent, string storage)
    {
        var agents = Math.Max(1, (count + perAgent - 1) / perAgent);
        var (baselineHeap, baselineRss) = Measure();
        Console.Error.WriteLine($"scale: creating {count:N0} sessions over {agents:N0} agents (baseline: heap {Mb(baselineHeap)}, RSS {Mb(baselineRss)}) …");
        long next = -1, done = 0, failed = 0, peakRss = baselineRss;
        var pauseBefore = GC.GetTotalPauseDuration();
        var gen2Before = GC.CollectionCount(2);
        var longestFullBlocking = TimeSpan.Zero;
        var started = Stopwatch.GetTimestamp();
        using var stop = new CancellationTokenSource();
        var progress = Task.Run(async () =>
        {
            long last = 0;
            var lastAt = Stopwatch.GetTimestamp();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                var now = Interlocked.Read(ref done);
                var rate = (now - last) / Stopwatch.GetElapsedTime(lastAt).TotalSeconds;
                last = now;
                lastAt = Stopwatch.GetTimestamp();
                var rss = Rss();
                peakRss = Math.Max(peakRss, rss);
                longestFullBlocking = Max(longestFullBlocking, GC.GetGCMemoryInfo(GCKind.FullBlocking));
                var eta = rate > 0 ? TimeSpan.FromSeconds((count - now) / rate) : TimeSpan.Zero;
                Console.Error.WriteLine($"  {now,10:N0} / {count:N0} sessions  {rate,8:N0}/s  RSS {Mb(rss)}  heap {Mb(GC.GetTotalMemory(false))}  ETA {eta:hh\\:mm\\:ss}");
            }
        });

        var workers = Enumerable.Range(0, 256).Select(_ => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    await NewSessionAsync(grains, $"scale-{i % agents}");
                    Interlocked.Increment(ref done);
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or OrleansException)
                {
                    if (Interlocked.Increment(ref failed) <= 3)
                    {
                        Console.Error.WriteLine($"  session {i} failed: {ex.Message}");
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var createSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        peakRss = Math.Max(peakRss, Rss());
        await stop.CancelAsync();
        await progress;
        var pauses = new GcPauses(
            (GC.GetTotalPauseDuration() - pauseBefore).TotalSeconds,
            GC.CollectionCount(2) - gen2Before,
            Max(longestFullBlocking, GC.GetGCMemoryInfo(GCKind.FullBlocking)).TotalMilliseconds);
        Console.Error.WriteLine($"scale: GC paused {pauses.TotalSeconds:F1} s in all while creating ({pauses.Gen2Collections} gen-2 collections; longest full blocking pause seen {pauses.LongestFullBlockingMs:F0} ms)");
        var management = grains.GetGrain<IManagementGrain>(0);
        var activations = await SessionActivationsAsync(management);
        var (heapAfter, rssAfter) = Measure();
        Console.Error.WriteLine($"scale: {done:N0} sessions in {createSeconds:F1} s ({done / createSeconds:N0}/s); {activations:N0} session activations; heap {Mb(heapAfter)}, RSS {Mb(rssAfter)}, peak RSS {Mb(peakRss)}");

        // Idle deactivation: nothing calls the sessions any more; collect activations idle for 10 s (Orleans' default age is longer).
        var idleStarted = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(12));
        try
        {
            await management.ForceActivationCollection(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // With a million activations the call outlives the response timeout; the collection goes on in the silo.
            Console.Error.WriteLine("  (the forced collection is still running in the silo)");
        }

        var remaining = activations;
        var giveUpAt = Stopwatch.GetTimestamp() + (long)(TimeSpan.FromMinutes(Math.Max(2, count / 100_000)).TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < giveUpAt && ((remaining = await SessionActivationsAsync(management)) < 0 || remaining > count / 100))
        {
            Console.Error.WriteLine($"  deactivating: {(remaining < 0 ? "?" : remaining.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))} session activations left");
            await Task.Delay(TimeSpan.FromSeconds(5));
        }

        var deactivateSeconds = Stopwatch.GetElapsedTime(idleStarted).TotalSeconds;
        var (heapIdle, rssIdle) = Measure();
        Console.Error.WriteLine($"scale: after idle deactivation {remaining:N0} session activations; heap {Mb(heapIdle)}, RSS {Mb(rssIdle)}");
        return new ScaleResult((int)done, agents, createSeconds, done / createSeconds, baselineRss, baselineHeap, peakRss, rssAfter, heapAfter, activations, deactivateSeconds, remaining, rssIdle, heapIdle, storage, pauses);

        static TimeSpan Max(TimeSpan longest, GCMemoryInfo info) =>
            info.PauseDurations.Length > 0 && info.PauseDurations[0] > longest ? info.PauseDurations[0] : longest;
    }

    /// <summary>Session activations on the silo, or −1 when the statistics call timed out (the silo is busy collecting).</summary>
    private static async Task<long> SessionActivationsAsync(IManagementGrain management)
    {
        try
        {
            var stats = await management.GetSimpleGrainStatistics();
            return stats.Where(s => s.GrainType.Contains("SessionGrain", StringComparison.OrdinalIgnoreCase)).Sum(s => (long)s.ActivationCount);
        }
        catch (TimeoutException)
        {
            return -1;
        }
    }

    /// <summary>Live managed heap and resident set after a full, compacting, decommitting collection.</summary>
    public static (long Heap, long Rss) Measure()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return (GC.GetTotalMemory(false), Rss());
    }

    public static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    public static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:N0} MB";
}
