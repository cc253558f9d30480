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
    IReadOnlyDictionary<int, BreakdownResult> GatewayBreakdown,
    double? OfficialRoundTripsPerCall,
    AuthorizationResult? Authorization,
    ScaleResult? Scale,
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

    public static List<TargetResult> Targets(IReadOnlyList<LevelResult> levels, AuthorizationResult? auth, ScaleResult? scale)
    {
        var targets = new List<TargetResult>();
        var first = levels.FirstOrDefault();
        if (first is not null && first.Ratios.TryGetValue("gateway_over_direct_p50", out var g2d))
        {
            targets.Add(new($"reused call through the gateway ≤ 1.5× direct p50 (c={first.Concurrency})", $"gateway_over_direct_p50 = {F(g2d)}", g2d <= 1.5 ? "met" : "missed"));
        }

        if (first is not null && first.Ratios.TryGetValue("gateway_over_official_p50", out var g2o))
        {
            targets.Add(new($"gateway reuse faster than the official client's reuse (c={first.Concurrency})", $"gateway_over_official_p50 = {F(g2o)}", g2o < 1 ? "met" : "missed"));
        }

        var withNoop = levels.Where(l => l.Ratios.ContainsKey("gateway_over_noop_throughput")).ToList();
        if (withNoop.Count > 0)
        {
            var top = withNoop[^1];
            var r = top.Ratios["gateway_over_noop_throughput"];
            targets.Add(new($"x402_session_fetch throughput ≥ 0.7× the no-op tool (c={top.Concurrency})", $"gateway_over_noop_throughput = {F(r)}", r >= 0.7 ? "met" : "missed"));
        }

        var best = levels.Where(l => l.Scenarios.ContainsKey(Gateway)).Select(l => l.Scenarios[Gateway]).MaxBy(r => r.Throughput);
        if (best is not null)
        {
            targets.Add(new("x402_session_fetch ≥ 2 000 calls/s with a C# client", $"{best.Throughput:F0} calls/s (c={best.Concurrency})", best.Throughput >= 2000 ? "met" : "missed"));
        }

        if (auth is not null)
        {
            var rate = auth.ManySessions.Throughput;
            targets.Add(new("≥ 20 000 authorisation turns/s on one silo", $"{rate:F0}/s ({auth.ManySessions.Concurrency} sessions), {auth.OneSession.Throughput:F0}/s (1 session)", rate >= 20000 ? "met" : "missed"));
        }

        if (scale is not null && scale.Sessions > 0)
        {
            var peak = scale.PeakRssBytes;
            if (scale.Sessions >= 1_000_000)
            {
                targets.Add(new("1 000 000 sessions with silo memory ≤ 1 GB", $"peak RSS {GrainBench.Mb(peak)}, {GrainBench.Mb(scale.RssAfterCreateBytes)} after GC, {GrainBench.Mb(scale.RssAfterIdleBytes)} after idle deactivation", peak <= 1L << 30 ? "met" : "missed"));
            }
            else
            {
                var perSession = (double)(scale.RssAfterCreateBytes - scale.BaselineRssBytes) / scale.Sessions;
                var projected = scale.BaselineRssBytes + (perSession * 1_000_000);
                targets.Add(new("1 000 000 sessions with silo memory ≤ 1 GB", $"not run at 1M (N={scale.Sessions:N0}): {perSession:F0} B/session → ~{GrainBench.Mb((long)projected)} projected (run --sessions 1000000)", projected <= 1L << 30 ? "projected met" : "projected missed"));
            }
        }

        return targets;
    }

    public static string Table(BenchReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"scenario",-16} {"conc",5} {"calls/s",10} {"p50 ms",9} {"p99 ms",9} {"mean ms",9} {"calls",9} {"errors",7}");
        foreach (var level in report.Latency)
        {
            foreach (var (name, r) in level.Scenarios)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"{name,-16} {r.Concurrency,5} {r.Throughput,10:F0} {r.P50Ms,9:F3} {r.P99Ms,9:F3} {r.MeanMs,9:F3} {r.Calls,9} {r.Errors,7}");
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"  ratios c={level.Concurrency}: {string.Join(", ", level.Ratios.Where(r => !r.Key.StartsWith("noop_over", StringComparison.Ordinal)).Select(r => $"{r.Key}={F(r.Value)}"))}");
        }

        if (report.Authorization is { } a)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"authorisation turn: {a.OneSession.Throughput:F0}/s on 1 session (p50 {a.OneSession.P50Ms:F3} ms), {a.ManySessions.Throughput:F0}/s on {a.ManySessions.Concurrency} sessions; authorise+complete pairs {a.ManySessionsAuthorizeAndComplete.Throughput:F0}/s");
        }

        if (report.Scale is { } s)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"scale: {s.Sessions:N0} sessions in {s.CreateSeconds:F1} s ({s.SessionsPerSecond:F0}/s); RSS peak {GrainBench.Mb(s.PeakRssBytes)}, after GC {GrainBench.Mb(s.RssAfterCreateBytes)} (heap {GrainBench.Mb(s.HeapAfterCreateBytes)}); after idle deactivation ({s.ActivationsAfterIdle:N0} left) RSS {GrainBench.Mb(s.RssAfterIdleBytes)} (heap {GrainBench.Mb(s.HeapAfterIdleBytes)})");
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
        sb.AppendLine("| scenario | c | calls/s | p50 ms | p99 ms | mean ms | calls | errors |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var level in report.Latency)
        {
            foreach (var (name, r) in level.Scenarios)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {r.Concurrency} | {r.Throughput:F0} | {r.P50Ms:F3} | {r.P99Ms:F3} | {r.MeanMs:F3} | {r.Calls} | {r.Errors} |");
            }
        }

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

        if (report.OfficialRoundTripsPerCall is { } trips)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"The official client's reuse took {trips:F2} HTTP round trips per call (request → 402 → signed proof → request).");
        }

        if (report.Authorization is { } a)
        {
            sb.AppendLine();
            sb.AppendLine("## Session grain alone (in-silo calls, no HTTP)");
            sb.AppendLine();
            sb.AppendLine("| measurement | calls/s | p50 ms | p99 ms |");
            sb.AppendLine("| --- | ---: | ---: | ---: |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| AuthorizeCall, 1 session (sequential) | {a.OneSession.Throughput:F0} | {a.OneSession.P50Ms:F3} | {a.OneSession.P99Ms:F3} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| AuthorizeCall, {a.ManySessions.Concurrency} sessions | {a.ManySessions.Throughput:F0} | {a.ManySessions.P50Ms:F3} | {a.ManySessions.P99Ms:F3} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| AuthorizeCall + CompleteCall (a fetch's two turns), {a.ManySessionsAuthorizeAndComplete.Concurrency} sessions | {a.ManySessionsAuthorizeAndComplete.Throughput:F0} | {a.ManySessionsAuthorizeAndComplete.P50Ms:F3} | {a.ManySessionsAuthorizeAndComplete.P99Ms:F3} |");
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

    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(report, Json);

    private static double Round(double v) => Math.Round(v, 3);

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
