using System.Globalization;

namespace X402Orleans.Bench;

/// <summary>Command-line options.</summary>
internal sealed record BenchOptions
{
    public int Sessions { get; init; } = 100_000;

    public bool Quick { get; init; }

    public IReadOnlyList<int> Concurrency { get; init; } = [1, 16, 64];

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Warm-up of a scenario's first window (JIT tiering and dynamic PGO settle; later levels warm up for <see cref="Warmup"/>).</summary>
    public TimeSpan FirstWarmup { get; init; } = TimeSpan.FromSeconds(5);

    public bool Node { get; init; } = true;

    public bool Scale { get; init; } = true;

    public int SessionsPerAgent { get; init; } = 100;

    /// <summary><c>file</c> (a new SQLite file in the temp folder: the durable default of the one-command run), <c>:memory:</c>, or a path.</summary>
    public string Storage { get; init; } = "file";

    /// <summary>Starts by one agent in the start-history step (0: skipped).</summary>
    public int StartHistory { get; init; }

    public string? Output { get; init; }

    public IReadOnlySet<string>? Only { get; init; }

    public TimeSpan? CollectionAge { get; init; }

    /// <summary>Also measure AdoNet mode: PostgreSQL, 2 silo processes and a standalone gateway process (see <see cref="ClusterBench"/>).</summary>
    public bool AdoNet { get; init; }

    /// <summary>Npgsql connection string of a PostgreSQL superuser for <see cref="AdoNet"/> (default: X402_TEST_POSTGRES, else a private server).</summary>
    public string? AdoNetConnection { get; init; }

    /// <summary>Npgsql pool size per silo in AdoNet mode (X402:Storage:MaxPoolSize; null: the host's default).</summary>
    public int? AdoNetPool { get; init; }

    public bool Runs(string scenario) => Only is null || Only.Contains(scenario);

    public static string Usage => """
        X402Orleans benchmark: direct HTTP vs x402_session_fetch vs the official @x402/fetch client vs a no-op MCP tool, the
        session grain's authorisation turn, and N sessions' memory. Prints a table; writes JSON and Markdown under bench/results/.

          --sessions N         sessions created in the scale step (default 100000; 1000000 for the 1M target)
          --quick              short windows (1.5 s), 10000 sessions unless --sessions is given
          --concurrency LIST   comma-separated in-flight calls per scenario (default 1,16,64)
          --duration SECONDS   measured window per scenario and level (default 5)
          --warmup SECONDS     unmeasured warm-up before each window (default 1)
          --first-warmup SECONDS  warm-up before a scenario's first window (default 5, --quick 1.5): JIT tiering and dynamic
                               PGO take seconds to settle, and a 1 s warm-up measured the first c=1 window up to 2x slow
          --sessions-per-agent N  scale step: sessions per agent (default 100)
          --storage PATH       grain state: file (default: a new SQLite file in the temp folder, as the one-command run
                               keeps state durably), :memory:, or a SQLite file path. With a file, the in-memory target
                               is measured on a second, :memory: host in the same run
          --start-history N    one agent makes N starts (16 in flight); p50 of its first vs its last 1 000 (default 0: skip;
                               the issue's comparison is 100000)
          --only LIST          only these: direct_http,upstream_http,session_service,gateway_fetch,noop_tool,session_start,
                               official_fetch,schemes,authorization,memory (schemes: siwx_reuse vs batch_voucher,
                               a reused fetch by sign-in-with-x vs by batch-settlement voucher, c=1 and 8 agents; storage: SQLite write bench only;
                               crypto: secp256k1 sign/recover, Nethereum vs NBitcoin.Secp256k1, only)
          --collection-age S   grain collection age in seconds for the run, sessions included (X402:Sessions:IdleCollectionSeconds;
                               default: the host's own, 300 s for sessions)
          --adonet             also measure AdoNet mode: PostgreSQL, 2 silo processes + 1 gateway process (gateway_fetch,
                               noop_tool, session_start through the gateway process's /mcp)
          --adonet-connection CS  PostgreSQL superuser connection string (default: X402_TEST_POSTGRES, else a private server
                               started with .ci/postgres.sh and stopped at the end)
          --adonet-pool N      Npgsql pool size per silo (X402:Storage:MaxPoolSize; default: the host's)
          --no-node            skip the official @x402/fetch client
          --no-scale           skip the scale step
          --out DIR            results folder (default bench/results)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        int? sessions = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--sessions": sessions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--quick": o = o with { Quick = true, Duration = TimeSpan.FromSeconds(1.5), Warmup = TimeSpan.FromSeconds(0.5), FirstWarmup = TimeSpan.FromSeconds(1.5) }; break;
                case "--concurrency": o = o with { Concurrency = [.. Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))] }; break;
                case "--duration": o = o with { Duration = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) }; break;
                case "--warmup": o = o with { Warmup = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) }; break;
                case "--first-warmup": o = o with { FirstWarmup = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) }; break;
                case "--sessions-per-agent": o = o with { SessionsPerAgent = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--storage": o = o with { Storage = Next() }; break;
                case "--start-history": o = o with { StartHistory = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--only": o = o with { Only = Next().Split(',').ToHashSet(StringComparer.Ordinal) }; break;
                case "--collection-age": o = o with { CollectionAge = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) }; break;
                case "--adonet": o = o with { AdoNet = true }; break;
                case "--adonet-connection": o = o with { AdoNet = true, AdoNetConnection = Next() }; break;
                case "--adonet-pool": o = o with { AdoNet = true, AdoNetPool = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--no-node": o = o with { Node = false }; break;
                case "--no-scale": o = o with { Scale = false }; break;
                case "--out": o = o with { Output = Next() }; break;
                case "-h" or "--help": throw new OperationCanceledException(Usage);
                default: throw new ArgumentException($"unknown option {args[i]}\n{Usage}");
            }
        }

        return o with { Sessions = sessions ?? (o.Quick ? 10_000 : 100_000) };
    }
}
