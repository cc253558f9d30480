using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace X402Orleans.Bench;

/// <summary>One concurrency level: each scenario's result and the ratios between them.</summary>
internal sealed record LevelResult(int Concurrency, IReadOnlyDictionary<string, LoadResult> Scenarios, IReadOnlyDictionary<string, double> Ratios);

/// <summary>A target from the issue and where it stands.</summary>
internal sealed record TargetResult(string Target, string Measured, string Status);

/// <summary>Everything one run measured.</summary>
internal sealed record BenchReport(
    DateTimeOffset StartedAt,
    MachineInfo Machine,
    object Config,
    IReadOnlyList<LevelResult> Latency,
    IReadOnlyList<LevelResult>? Schemes,
    IReadOnlyDictionary<int, BreakdownResult> GatewayBreakdown,
    double? OfficialRoundTripsPerCall,
    AuthorizationResult? Authorization,
    ScaleResult? Scale,
    MemoryComparison? Memory,
    StartHistoryResult? StartHistory,
    double? DiskBytesPerSession,
    AdoNetResult? AdoNet,
    IReadOnlyList<TargetResult> Targets,
    IReadOnlyList<string> Notes);

/// <summary>Ratios, targets, and the table / JSON / Markdown renderings.</summary>
internal static class Report
{
    public const string Direct = "direct_http";
    public const string Gateway = "gateway_fetch";
    public const string Noop = "noop_tool";
    public const string Official = "official_fetch";
    public const string Upstream = "upstream_http";
    public const string Service = "session_service";
    public const string Start = "session_start";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Ratios named for what they divide: <c>a_over_b_metric</c> = a's metric / b's metric.</summary>
    public static Dictionary<string, double> Ratios(IReadOnlyDictionary<string, LoadResult> s)
    {
        var ratios = new Dictionary<string, double>(StringComparer.Ordinal);
        void Add(string a, string b)
        {
            if (s.TryGetValue(a, out var x) && s.TryGetValue(b, out var y))
            {
                var an = Short(a);
                var bn = Short(b);
                ratios[$"{an}_over_{bn}_p50"] = Round(x.P50Ms / y.P50Ms);
                ratios[$"{an}_over_{bn}_p99"] = Round(x.P99Ms / y.P99Ms);
                ratios[$"{an}_over_{bn}_throughput"] = Round(x.Throughput / y.Throughput);
            }
        }

        Add(Gateway, Direct);
        Add(Gateway, Official);
        Add(Official, Direct);
        Add(Gateway, Noop);
        Add(Noop, Direct);
        Add(Service, Direct);
        Add(SchemesBench.BatchVoucher, SchemesBench.SiwxReuse);
        return ratios;
    }

    private static string Short(string scenario) => scenario switch
    {
        Direct => "direct",
        Gateway => "gateway",
        Noop => "noop",
        Official => "official",
        Service => "service",
        _ => scenario,
    };

    /// <summary>The targets of issue 10, each with what this run measured (durable = the main host kept state in a SQLite file).</summary>
    public static List<TargetResult> Targets(IReadOnlyList<LevelResult> levels, AuthorizationResult? auth, ScaleResult? scale, MemoryComparison? memory, StartHistoryResult? history, double? diskPerSession, bool durable, AdoNetResult? adoNet)
    {
        var targets = new List<TargetResult>();
        var store = durable ? "SQLite file" : ":memory:";
        LoadResult? At(string scenario, int c) => levels.FirstOrDefault(l => l.Concurrency == c)?.Scenarios.GetValueOrDefault(scenario);
        void Gap(string label, LoadResult? direct, LoadResult? gateway, double limit)
        {
            if (direct is not null && gateway is not null)
            {
                var gap = gateway.P50Ms - direct.P50Ms;
                targets.Add(new($"gateway_fetch p50 − direct_http p50 at c=1 ({label}) ≤ {limit:0.00} ms", $"{gap:F3} ms ({gateway.P50Ms:F3} − {direct.P50Ms:F3})", gap <= limit ? "met" : "missed"));
            }
        }

        Gap(":memory:", memory?.Direct ?? (durable ? null : At(Direct, 1)), memory?.Gateway ?? (durable ? null : At(Gateway, 1)), 0.25);
        if (durable)
        {
            Gap("SQLite file", At(Direct, 1), At(Gateway, 1), 0.40);
        }

        var top = levels.Where(l => l.Ratios.ContainsKey("gateway_over_noop_throughput")).MaxBy(l => l.Concurrency);
        if (top is not null)
        {
            var r = top.Ratios["gateway_over_noop_throughput"];
            targets.Add(new($"gateway_over_noop_throughput at c={top.Concurrency} ({store}) ≥ 0.8", F(r), r >= 0.8 ? "met" : "missed"));
        }

        var fetch64 = levels.Where(l => l.Scenarios.ContainsKey(Gateway)).MaxBy(l => l.Concurrency)?.Scenarios[Gateway];
        if (fetch64 is not null)
        {
            targets.Add(new($"x402_session_fetch/s at c={fetch64.Concurrency} ({store}) ≥ 3 000", $"{fetch64.Throughput:F0}/s", !durable ? "not durable" : fetch64.Throughput >= 3000 ? "met" : "missed"));
        }

        const string adoNetTarget = "x402_session_fetch/s at c=64, AdoNet (PostgreSQL, 2 silos + gateway process) ≥ 1 500";
        if (adoNet?.TopFetch is { } clustered)
        {
            targets.Add(new(adoNetTarget, $"{clustered.Throughput:F0}/s (c={clustered.Concurrency}, p50 {clustered.P50Ms:F3} ms, {clustered.Errors} errors)", clustered.Concurrency < 64 ? "not run at c=64" : clustered.Throughput >= 1500 && clustered.Errors == 0 ? "met" : "missed"));
        }
        else
        {
            targets.Add(new(adoNetTarget, "not measured (run with --adonet)", "not measured"));
        }

        var starts = levels.Where(l => l.Concurrency > 1 && l.Scenarios.ContainsKey(Start)).Select(l => l.Scenarios[Start]).MaxBy(r => r.Throughput);
        if (starts is not null)
        {
            targets.Add(new($"x402_session_start/s, paid ({PaidRouteNote}), concurrent ({store}) ≥ 1 000", $"{starts.Throughput:F0}/s (c={starts.Concurrency})", starts.Throughput >= 1000 ? "met" : "missed"));
        }

        if (At(Start, 1) is { } start1)
        {
            targets.Add(new($"x402_session_start p50 at c=1, paid ({store}) ≤ 5 ms", $"{start1.P50Ms:F3} ms", start1.P50Ms <= 5 ? "met" : "missed"));
        }

        if (history is not null)
        {
            var ratio = history.LastOverFirstP50;
            targets.Add(new($"p50 of an agent's last {history.Window:N0} of {history.Starts:N0} starts vs its first {history.Window:N0} ≤ 1.2×", $"{F(ratio)} ({history.LastP50Ms:F3} vs {history.FirstP50Ms:F3} ms)", history.Starts < 100_000 ? (ratio <= 1.2 ? "met below 100 000 starts" : "missed") : ratio <= 1.2 ? "met" : "missed"));
        }

        if (auth is not null)
        {
            var rate = auth.ManySessions.Throughput;
            targets.Add(new("≥ 20 000 authorisation turns/s on one silo (issue 3)", $"{rate:F0}/s ({auth.ManySessions.Concurrency} sessions), {auth.OneSession.Throughput:F0}/s (1 session)", rate >= 20000 ? "met" : "missed"));
        }

        if (scale is not null && scale.Sessions > 0)
        {
            var peak = scale.PeakRssBytes;
            var disk = diskPerSession is { } d ? $", {d:F0} B of disk per session" : string.Empty;
            var diskOk = diskPerSession is null || diskPerSession <= 1536;
            if (scale.Sessions >= 1_000_000)
            {
                targets.Add(new($"1 000 000 sessions ({store}): peak RSS ≤ 1 GB, ≤ 1.5 KB of disk per session", $"peak RSS {GrainBench.Mb(peak)}{disk}", peak <= 1L << 30 && diskOk && durable ? "met" : "missed"));
            }
            else
            {
                targets.Add(new($"1 000 000 sessions ({store}): peak RSS ≤ 1 GB, ≤ 1.5 KB of disk per session", $"not run at 1M (N={scale.Sessions:N0}): peak RSS {GrainBench.Mb(peak)}{disk} (run --sessions 1000000)", "not run"));
            }
        }

        return targets;
    }

    private const string PaidRouteNote = "demo paywall /demo/quote: 402 → EIP-3009 signature → verified → simulated settlement";

    public static string Table(BenchReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"scenario",-16} {"conc",5} {"calls/s",10} {"p50 ms",9} {"p99 ms",9} {"mean ms",9} {"calls",9} {"errors",7}");
        foreach (var level in report.Latency)
        {
            foreach (var (name, r) in level.Scenarios)
            {
                sb.AppendLine(Row(name, r));
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"  ratios c={level.Concurrency}: {string.Join(", ", level.Ratios.Where(r => !r.Key.StartsWith("noop_over", StringComparison.Ordinal)).Select(r => $"{r.Key}={F(r.Value)}"))}");
        }

        if (report.Schemes is { } schemes)
        {
            sb.AppendLine("schemes (reused x402_session_fetch, one agent per call in flight):");
            foreach (var level in schemes)
            {
                foreach (var (name, r) in level.Scenarios)
                {
                    sb.AppendLine(Row(name, r));
                }

                sb.AppendLine(CultureInfo.InvariantCulture, $"  ratios c={level.Concurrency}: {string.Join(", ", level.Ratios.Select(r => $"{r.Key}={F(r.Value)}"))}");
            }
        }

        if (report.Authorization is { } a)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"authorisation turn: {a.OneSession.Throughput:F0}/s on 1 session (p50 {a.OneSession.P50Ms:F3} ms), {a.ManySessions.Throughput:F0}/s on {a.ManySessions.Concurrency} sessions; BeginCall (persisted) {a.ManySessionsBeginCall.Throughput:F0}/s");
        }

        if (report.Scale is { } s)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"scale: {s.Sessions:N0} sessions in {s.CreateSeconds:F1} s ({s.SessionsPerSecond:F0}/s); RSS peak {GrainBench.Mb(s.PeakRssBytes)}, after GC {GrainBench.Mb(s.RssAfterCreateBytes)} (heap {GrainBench.Mb(s.HeapAfterCreateBytes)}); after idle deactivation ({s.ActivationsAfterIdle:N0} left) RSS {GrainBench.Mb(s.RssAfterIdleBytes)} (heap {GrainBench.Mb(s.HeapAfterIdleBytes)})");
        }

        if (report.AdoNet is { } ado)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"AdoNet ({ado.Topology}; pool {ado.PoolPerSilo} per silo):");
            foreach (var level in ado.Levels)
            {
                foreach (var (name, r) in level.Scenarios)
                {
                    sb.AppendLine(Row(name, r));
                }
            }

            sb.AppendLine(AdoNetBound(ado));
        }

        sb.AppendLine("targets:");
        foreach (var t in report.Targets)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  [{t.Status}] {t.Target}: {t.Measured}");
        }

        return sb.ToString();
    }

    public static string Markdown(BenchReport report)
    {
        var m = report.Machine;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# X402Orleans benchmark — {report.StartedAt:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {m.Cores} cores, {m.CpuModel}, {m.MemoryGiB} GiB RAM, {m.Os}, {m.Runtime}, {m.GcMode} GC; commit `{m.Commit}`.");
        foreach (var note in report.Notes)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        sb.AppendLine();
        sb.AppendLine("## Latency and throughput (closed loop; c = calls in flight)");
        sb.AppendLine();
        MarkdownRows(sb, report.Latency);

        sb.AppendLine();
        sb.AppendLine("## Ratios (`a_over_b_metric` = a / b)");
        sb.AppendLine();
        var keys = report.Latency.SelectMany(l => l.Ratios.Keys).Distinct().ToList();
        sb.AppendLine("| ratio | " + string.Join(" | ", report.Latency.Select(l => $"c={l.Concurrency}")) + " |");
        sb.AppendLine("| --- |" + string.Concat(report.Latency.Select(_ => " ---: |")));
        foreach (var key in keys)
        {
            sb.AppendLine($"| `{key}` | " + string.Join(" | ", report.Latency.Select(l => l.Ratios.TryGetValue(key, out var v) ? F(v) : "–")) + " |");
        }

        if (report.GatewayBreakdown.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Where a gateway_fetch goes (medians, from the gateway's own `x402.call.duration` and `x402.upstream.duration`; the rest of the p50 is MCP transport, JSON-RPC and the client):");
            sb.AppendLine();
            sb.AppendLine("| c | in the gateway (grain turns + upstream) ms | upstream request ms | upstream requests per fetch |");
            sb.AppendLine("| ---: | ---: | ---: | ---: |");
            foreach (var (c, b) in report.GatewayBreakdown)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {c} | {b.CallMs:F3} | {b.UpstreamMs:F3} | {b.UpstreamPerCall:F2} |");
            }
        }

        if (report.Schemes is { } schemes)
        {
            sb.AppendLine();
            sb.AppendLine("## Schemes: a reused call, exact + sign-in-with-x vs batch-settlement (same host; c agents, each its own sessions and channel)");
            sb.AppendLine();
            sb.AppendLine("`siwx_reuse`: x402_session_fetch of /demo/weather (paid once by exact at the start, reused by sign-in-with-x). `batch_voucher`: x402_session_fetch of /demo/stream (one 0.001 voucher per call, signed by the silo, verified by the paywall; deposit and settlement simulated).");
            sb.AppendLine();
            MarkdownRows(sb, schemes);
            sb.AppendLine();
            sb.AppendLine("| ratio | " + string.Join(" | ", schemes.Select(l => $"c={l.Concurrency}")) + " |");
            sb.AppendLine("| --- |" + string.Concat(schemes.Select(_ => " ---: |")));
            foreach (var key in schemes.SelectMany(l => l.Ratios.Keys).Distinct())
            {
                sb.AppendLine($"| `{key}` | " + string.Join(" | ", schemes.Select(l => l.Ratios.TryGetValue(key, out var v) ? F(v) : "–")) + " |");
            }
        }

        if (report.OfficialRoundTripsPerCall is { } trips)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"The official client's reuse took {trips:F2} HTTP round trips per call (request → 402 → signed proof → request).");
        }

        if (report.Memory is { } mem)
        {
            sb.AppendLine();
            sb.AppendLine("## The same reuse on a second host with in-memory grain state (same run, c=1)");
            sb.AppendLine();
            sb.AppendLine("| scenario | calls/s | p50 ms | p99 ms |");
            sb.AppendLine("| --- | ---: | ---: | ---: |");
            sb.AppendLine(RateRow(Direct, mem.Direct));
            sb.AppendLine(RateRow(Gateway, mem.Gateway));
        }

        if (report.StartHistory is { } h)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Start history: one agent made {h.Starts:N0} starts (16 in flight, free route) in {h.Seconds:F0} s with {h.Errors} errors; p50 of starts 201–{200 + h.Window:N0}: {h.FirstP50Ms:F3} ms, of the last {h.Window:N0}: {h.LastP50Ms:F3} ms (`last_over_first_p50` = {F(h.LastOverFirstP50)}).");
        }

        if (report.DiskBytesPerSession is { } dps)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Disk: the SQLite file (with its WAL) grew by {dps:F0} B per session created in the scale step.");
        }

        if (report.Authorization is { } a)
        {
            sb.AppendLine();
            sb.AppendLine("## Session grain alone (in-silo calls, no HTTP)");
            sb.AppendLine();
            sb.AppendLine("| measurement | calls/s | p50 ms | p99 ms |");
            sb.AppendLine("| --- | ---: | ---: | ---: |");
            sb.AppendLine(RateRow("AuthorizeCall, 1 session (sequential)", a.OneSession));
            sb.AppendLine(RateRow($"AuthorizeCall, {a.ManySessions.Concurrency} sessions", a.ManySessions));
            sb.AppendLine(RateRow($"BeginCall (a fetch's one turn: authorise, count, persist), {a.ManySessionsBeginCall.Concurrency} sessions", a.ManySessionsBeginCall));
        }

        if (report.Scale is { } s)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"## Scale: {s.Sessions:N0} sessions ({s.Agents:N0} agents, storage `{s.Storage}`)");
            sb.AppendLine();
            sb.AppendLine("| measurement | value |");
            sb.AppendLine("| --- | ---: |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| create time | {s.CreateSeconds:F1} s ({s.SessionsPerSecond:F0} sessions/s) |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| baseline RSS / heap | {GrainBench.Mb(s.BaselineRssBytes)} / {GrainBench.Mb(s.BaselineHeapBytes)} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| peak RSS while creating | {GrainBench.Mb(s.PeakRssBytes)} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| after creation (full GC): RSS / heap | {GrainBench.Mb(s.RssAfterCreateBytes)} / {GrainBench.Mb(s.HeapAfterCreateBytes)} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| session activations after creation | {s.ActivationsAfterCreate:N0} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| after idle deactivation ({s.DeactivateSeconds:F0} s): RSS / heap | {GrainBench.Mb(s.RssAfterIdleBytes)} / {GrainBench.Mb(s.HeapAfterIdleBytes)} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| session activations left | {s.ActivationsAfterIdle:N0} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| per session (RSS after creation − baseline) / N | {(s.RssAfterCreateBytes - s.BaselineRssBytes) / (double)Math.Max(1, s.Sessions):F0} B |");
            if (s.CreatePauses is { } gc)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| GC pauses while creating: total / gen-2 collections / longest full blocking seen | {gc.TotalSeconds:F1} s ({100 * gc.TotalSeconds / Math.Max(0.001, s.CreateSeconds):F1} % of the time) / {gc.Gen2Collections} / {gc.LongestFullBlockingMs:F0} ms |");
            }
        }

        if (report.AdoNet is { } ado)
        {
            sb.AppendLine();
            sb.AppendLine("## AdoNet mode (PostgreSQL, 2 silo processes + gateway process)");
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"{ado.Topology}; Npgsql pool {ado.PoolPerSilo} per silo.");
            sb.AppendLine();
            MarkdownRows(sb, ado.Levels);

            sb.AppendLine();
            sb.AppendLine(AdoNetBound(ado));
        }

        sb.AppendLine();
        sb.AppendLine("## Targets");
        sb.AppendLine();
        sb.AppendLine("| target | measured | status |");
        sb.AppendLine("| --- | --- | --- |");
        foreach (var t in report.Targets)
        {
            sb.AppendLine($"| {t.Target} | {t.Measured} | {t.Status} |");
        }

        return sb.ToString();
    }

    /// <summary>A Markdown row "| label | calls/s | p50 ms | p99 ms |".</summary>
    private static string RateRow(string label, LoadResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"| {label} | {r.Throughput:F0} | {r.P50Ms:F3} | {r.P99Ms:F3} |");

    private static string Row(string name, LoadResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"{name,-16} {r.Concurrency,5} {r.Throughput,10:F0} {r.P50Ms,9:F3} {r.P99Ms,9:F3} {r.MeanMs,9:F3} {r.Calls,9} {r.Errors,7}");

    /// <summary>A Markdown table of every scenario at every level.</summary>
    private static void MarkdownRows(StringBuilder sb, IReadOnlyList<LevelResult> levels)
    {
        sb.AppendLine("| scenario | c | calls/s | p50 ms | p99 ms | mean ms | calls | errors |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var level in levels)
        {
            foreach (var (name, r) in level.Scenarios)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {r.Concurrency} | {r.Throughput:F0} | {r.P50Ms:F3} | {r.P99Ms:F3} | {r.MeanMs:F3} | {r.Calls} | {r.Errors} |");
            }
        }
    }

    /// <summary>Where the top gateway_fetch level's time went: CPU per process and PostgreSQL activity.</summary>
    private static string AdoNetBound(AdoNetResult ado)
    {
        var cpu = ado.FetchCpu is { } c ? $"CPU cores during gateway_fetch at c={ado.TopFetch?.Concurrency}: {string.Join(", ", c.Processes.Select(p => $"{p.Key} {p.Value:F2}"))}; machine busy {c.MachineBusyCores:F2} of {Environment.ProcessorCount}." : string.Empty;
        var pg = ado.Postgres is { } p ? $" PostgreSQL {p.Version} (synchronous_commit={p.SynchronousCommit}, fsync={p.Fsync}, max_connections {p.MaxConnections}): {p.MaxOpen} connections open, {p.MaxActive} active at most (mean {p.MeanActive:F1}), {p.CommitsPerSecond:F0} commits/s{(ado.TopFetch is { Throughput: > 0 } top ? $" ({p.CommitsPerSecond / top.Throughput:F2} per fetch)" : string.Empty)}." : string.Empty;
        return cpu + pg;
    }

    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(report, Json);

    private static double Round(double v) => Math.Round(v, 3);

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
