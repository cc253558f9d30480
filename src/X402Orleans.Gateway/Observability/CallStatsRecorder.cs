using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// Counts this process's session tool calls (x402_session_start and x402_session_fetch) into 10-second buckets with the latency
/// histogram of <see cref="CallLatency"/>, for the operator console's live chart. Recording is a few interlocked increments; a
/// lock is taken only when a new bucket begins. <see cref="CallStatsReporter"/> hands finished buckets to the cluster.
/// </summary>
public sealed class CallStatsRecorder
{
    /// <summary>Finished buckets kept while the cluster cannot be reached (15 minutes' worth; older ones are dropped).</summary>
    public const int MaxPendingBuckets = 90;

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<Bucket> _finished = [];
    private Bucket _current;

    /// <summary>Creates a recorder reading the bucket clock from <paramref name="time"/>.</summary>
    public CallStatsRecorder(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _current = new Bucket(CallLatency.BucketStart(time.GetUtcNow()));
    }

    /// <summary>Counts one call that took <paramref name="elapsed"/>; <paramref name="failed"/> when it ended in an error.</summary>
    public void Record(TimeSpan elapsed, bool failed)
    {
        var bucket = CurrentBucket();
        Interlocked.Increment(ref bucket.Calls);
        if (failed)
        {
            Interlocked.Increment(ref bucket.Errors);
        }

        Interlocked.Increment(ref bucket.Counts[CallLatency.BucketIndex(elapsed.TotalMilliseconds)]);
    }

    /// <summary>Takes the buckets whose 10 seconds are over and that counted a call, oldest first (the current one stays).</summary>
    public IReadOnlyList<CallStatsBucket> TakeFinished()
    {
        _ = CurrentBucket(); // a bucket whose window ended with no call since is finished too
        lock (_gate)
        {
            var taken = _finished.Where(b => Interlocked.Read(ref b.Calls) > 0).Select(b => b.Snapshot()).ToList();
            _finished.Clear();
            return taken;
        }
    }

    /// <summary>Puts back buckets that could not be reported, to be sent with the next ones (the oldest beyond the cap are dropped).</summary>
    public void Return(IReadOnlyList<CallStatsBucket> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        lock (_gate)
        {
            _finished.InsertRange(0, buckets.Select(Bucket.From));
            if (_finished.Count > MaxPendingBuckets)
            {
                _finished.RemoveRange(0, _finished.Count - MaxPendingBuckets);
            }
        }
    }

    private Bucket CurrentBucket()
    {
        var start = CallLatency.BucketStart(_time.GetUtcNow());
        var current = Volatile.Read(ref _current);
        if (current.Start == start)
        {
            return current;
        }

        lock (_gate)
        {
            if (_current.Start != start)
            {
                _finished.Add(_current);
                if (_finished.Count > MaxPendingBuckets)
                {
                    _finished.RemoveAt(0);
                }

                Volatile.Write(ref _current, new Bucket(start));
            }

            return _current;
        }
    }

    private sealed class Bucket(DateTimeOffset start)
    {
#pragma warning disable CA1051 // fields, so that Interlocked can update them
        public long Calls;
        public long Errors;
        public readonly long[] Counts = new long[CallLatency.UpperBoundsMs.Count + 1];
#pragma warning restore CA1051

        public DateTimeOffset Start { get; } = start;

        public static Bucket From(CallStatsBucket stats)
        {
            var bucket = new Bucket(stats.Start) { Calls = stats.Calls, Errors = stats.Errors };
            for (var i = 0; i < Math.Min(bucket.Counts.Length, stats.LatencyCounts.Count); i++)
            {
                bucket.Counts[i] = stats.LatencyCounts[i];
            }

            return bucket;
        }

        public CallStatsBucket Snapshot() =>
            new(Start, Interlocked.Read(ref Calls), Interlocked.Read(ref Errors), [.. Enumerable.Range(0, Counts.Length).Select(i => Interlocked.Read(ref Counts[i]))]);
    }
}
