using Microsoft.Extensions.DependencyInjection;
using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// Cluster-wide call statistics (key 0), in memory only: each reporter's buckets of the last <see cref="Window"/>, merged on
/// read by summing buckets with the same start. A re-report of a bucket by the same reporter replaces it (idempotent retries).
/// Kept alive: neither idle collection nor the silo's memory-pressure shedding (<c>X402:Cluster:ActivationMemoryLimitMB</c>)
/// deactivates it, since that would drop the statistics it holds (one activation per cluster).
/// </summary>
[KeepAlive]
public sealed class FleetStatsGrain([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider clock) : Grain, IFleetStatsGrain
{
    /// <summary>How much history is kept.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly Dictionary<(string Reporter, DateTimeOffset Start), CallStatsBucket> _buckets = [];

    /// <inheritdoc />
    public Task Report(string reporter, IReadOnlyList<CallStatsBucket> buckets)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reporter);
        ArgumentNullException.ThrowIfNull(buckets);
        var cutoff = Cutoff();
        foreach (var bucket in buckets.Where(b => b.Start >= cutoff))
        {
            _buckets[(reporter, bucket.Start)] = bucket;
        }

        Prune(cutoff);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CallStatsBucket>> Read(DateTimeOffset since)
    {
        var cutoff = Cutoff();
        Prune(cutoff);
        var from = since > cutoff ? since : cutoff;
        IReadOnlyList<CallStatsBucket> merged = [.. _buckets.Values
            .Where(b => b.Start >= from)
            .GroupBy(b => b.Start)
            .OrderBy(g => g.Key)
            .Select(g => g.Aggregate(Merge))];
        return Task.FromResult(merged);
    }

    private static CallStatsBucket Merge(CallStatsBucket a, CallStatsBucket b)
    {
        var counts = new long[Math.Max(a.LatencyCounts.Count, b.LatencyCounts.Count)];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = (i < a.LatencyCounts.Count ? a.LatencyCounts[i] : 0) + (i < b.LatencyCounts.Count ? b.LatencyCounts[i] : 0);
        }

        return new CallStatsBucket(a.Start, a.Calls + b.Calls, a.Errors + b.Errors, counts);
    }

    private DateTimeOffset Cutoff() => CallLatency.BucketStart(clock.GetUtcNow() - Window);

    private void Prune(DateTimeOffset cutoff)
    {
        foreach (var key in _buckets.Keys.Where(k => k.Start < cutoff).ToList())
        {
            _buckets.Remove(key);
        }
    }
}
