using System.Globalization;
using Orleans.Storage;
using X402Orleans.Silo.Storage;
using X402Orleans.Silo.Storage.Sqlite;

namespace X402Orleans.Bench;

/// <summary>
/// <c>--only storage</c>: durable grain-state writes per second on SQLite, side by side in one process: (i) Orleans'
/// <c>AdoNetGrainStorage</c> (one autocommit statement, one fsync per write) and (ii) the Local mode's group-committed
/// <see cref="SqliteGrainStorage"/> (one transaction, one fsync per batch), each on its own new file with the project's schema,
/// WAL and synchronous=FULL. N closed-loop writers, each writing its own grain's JSON state with its current ETag.
/// </summary>
internal static class StorageBench
{
    private const string ServiceId = "bench";

    /// <summary>Runs every concurrency level of <paramref name="options"/>, prints one line per provider and level plus the ratio.</summary>
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"x402-storage-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        Console.Error.WriteLine($"storage bench: SQLite files in {folder}; warm-up {options.Warmup.TotalSeconds:0.#} s, window {options.Duration.TotalSeconds:0.#} s per level");
        try
        {
            foreach (var c in options.Concurrency)
            {
                var adoNet = await MeasureAsync(Path.Combine(folder, $"adonet-{c}.db"), c, options, async env => (await env.StartAdoNetGrainStorageAsync(CancellationToken.None), null));
                var group = await MeasureAsync(Path.Combine(folder, $"group-{c}.db"), c, options, env =>
                {
                    var writer = env.CreateWriter();
                    return Task.FromResult<(IGrainStorage, IDisposable?)>((env.CreateGrainStorage(writer), writer));
                });
                Print("adonet_sqlite", adoNet);
                Print("group_commit", group);
                var ratio = adoNet.Throughput > 0 ? group.Throughput / adoNet.Throughput : double.NaN;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  c={c,-3} group_over_adonet_writes {ratio:F2}x"));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }

        return 0;
    }

    private static async Task<LoadResult> MeasureAsync(string path, int concurrency, BenchOptions options, Func<StandaloneStorage, Task<(IGrainStorage Storage, IDisposable? Owner)>> create)
    {
        await SchemaScripts.ApplySqliteAsync(SchemaScripts.SqliteConnectionString(path), CancellationToken.None);
        await using var env = StandaloneStorage.For(path, ServiceId);
        var (storage, owner) = await create(env);
        using (owner)
        {
            var states = Enumerable.Range(0, concurrency)
                .Select(w => (Grain: GrainId.Create("session", $"bench-{w.ToString(CultureInfo.InvariantCulture)}"), State: new GrainState<BenchState> { State = new BenchState { Text = new string('x', 200) } }))
                .ToArray();
            return await LoadRunner.RunAsync(concurrency, options.Warmup, options.Duration, async w =>
            {
                var (grain, state) = states[w];
                state.State!.Count++;
                await storage.WriteStateAsync("session", grain, state);
                return true;
            });
        }
    }

    private static void Print(string name, LoadResult r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-14} c={r.Concurrency,-3} {r.Throughput,8:F0} writes/s  p50 {r.P50Ms,7:F3} ms  p99 {r.P99Ms,7:F3} ms  errors {r.Errors}{(r.FirstError is null ? string.Empty : $" ({r.FirstError})")}"));

    /// <summary>A state of about the size of a session's (a counter and some text).</summary>
    private sealed class BenchState
    {
        public int Count { get; set; }

        public string Text { get; set; } = string.Empty;
    }
}
