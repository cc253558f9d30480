using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using X402Orleans.Bench;
using X402Orleans.Gateway.Http;
using X402Orleans.Gateway.Sessions;
using X402Orleans.Payments.Scope;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;

// X402Orleans benchmark: one run, side by side, on the real host (see BenchOptions.Usage and README "Benchmarks").
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (OperationCanceledException help)
{
    Console.WriteLine(help.Message);
    return 0;
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

if (options.Runs("storage") && options.Only is not null)
{
    return await StorageBench.RunAsync(options);
}

if (options.Runs("crypto") && options.Only is not null)
{
    return CryptoBench.Run(options);
}

var root = RepoRoot();
var outDir = Path.GetFullPath(options.Output ?? Path.Combine(root, "bench", "results"));
var startedAt = DateTimeOffset.UtcNow;
var loadAtStart = LoadAverage();
var machine = MachineInfo.Describe(root);
var notes = new List<string>
{
    "Shared, noisy machine: other work may run at the same time; compare ratios from the same run rather than absolute numbers across runs.",
    "Client and server share the machine: the silo + gateway + demo paywall run in the benchmark process (server GC, as the host), the C# clients in the same process, the official client in a Node process.",
    $"Closed loop: each of c workers sends a call, waits for its answer, sends the next; warm-up {options.Warmup.TotalSeconds:0.#} s ({options.FirstWarmup.TotalSeconds:0.#} s before a scenario's first window), window {options.Duration.TotalSeconds:0.#} s per scenario and level.",
    "direct_http: C# HttpClient GET of /demo/weather with a valid SIGN-IN-WITH-X proof (one round trip). gateway_fetch: x402_session_fetch over MCP Streamable HTTP (C# MCP SDK client) → session grain (authorise, count, persist: one turn) → the same GET with the gateway's cached proof. noop_tool: x402_noop on the same gateway (transport + auth floor). official_fetch: @x402/fetch with the SIWX client hook (402 → proof → retry).",
    "Diagnostic rows: upstream_http is the gateway's own outbound client (UpstreamHttp) sending the same GET with a cached proof; session_service is SessionService.FetchAsync called in-process (grain turn + upstream, no MCP). gateway_fetch minus session_service is the MCP part.",
    $"Grain state: {(options.Storage == "file" ? "a new SQLite file (the one-command run's durable default: WAL, synchronous=NORMAL, group commit)" : options.Storage)}; grain collection age: {(options.CollectionAge is { } age ? $"{age.TotalSeconds:0} s" : "Orleans default")}; tracing off (no OTLP endpoint), metric instruments on.",
};
Console.Error.WriteLine($"X402Orleans bench on {machine.Cores} cores ({machine.CpuModel}), {machine.Runtime}, {machine.GcMode} GC, commit {machine.Commit}");

var official = options.Node ? await OfficialClient.PrepareAsync(root) : "skipped (--no-node)";
if (official is not null)
{
    notes.Add($"Official client not measured: {official}.");
}

var storage = options.Storage == "file" ? Path.Combine(Path.GetTempPath(), $"x402-bench-{Guid.NewGuid():N}.db") : options.Storage;
var durable = storage != ":memory:";
await using var host = await BenchHost.StartAsync(storage, options.CollectionAge, options.Runs("schemes") ? SchemesBench.Agents : 1);
var weather = new Uri(host.Url("/demo/weather"));
var signer = LocalPrivateKeySigner.FromHex(BenchHost.WalletKey);
using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, AutomaticDecompression = DecompressionMethods.None });

// MCP clients (one per 16 in-flight calls) and one session per in-flight call; the first start pays, the others reuse by sign-in.
var maxConcurrency = options.Concurrency.Max();
var clients = new McpClient[Math.Max(1, (maxConcurrency + 15) / 16)];
for (var i = 0; i < clients.Length; i++)
{
    clients[i] = await host.ConnectAsync();
}

var sessions = new string[maxConcurrency];
for (var i = 0; i < sessions.Length; i++)
{
    sessions[i] = await DurableBench.StartSessionAsync(clients[0], weather.AbsoluteUri);
}

Console.Error.WriteLine($"host up at {host.BaseUri}; {sessions.Length} sessions started (the first paid 0.001 USDC, simulated settlement)");

var warmed = new HashSet<string>(StringComparer.Ordinal);
var levels = new List<LevelResult>();
var breakdowns = new Dictionary<int, BreakdownResult>();
double? officialTrips = null;
using var breakdown = new Breakdown();
foreach (var c in options.Concurrency)
{
    var results = new Dictionary<string, LoadResult>(StringComparer.Ordinal);
    var proof = await SignProofAsync(http, weather, signer);
    if (options.Runs(Report.Direct))
    {
        results[Report.Direct] = await Measure(Report.Direct, c, async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, weather);
            request.Headers.TryAddWithoutValidation(X402Headers.SignInWithX, proof);
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            return response.StatusCode == HttpStatusCode.OK;
        });
    }

    if (options.Runs(Report.Upstream))
    {
        var upstream = host.Services.GetRequiredService<UpstreamHttp>();
        EndpointScope.TryCreate(weather.AbsoluteUri, ScopeMode.Prefix, out var scope, out _);
        var headers = new Dictionary<string, string> { [X402Headers.SignInWithX] = proof };
        var noHeaders = new Dictionary<string, string>();
        results[Report.Upstream] = await Measure(Report.Upstream, c, async _ =>
        {
            var response = await upstream.SendAsync(new UpstreamRequest(HttpMethod.Get, weather, noHeaders, null, TimeSpan.FromSeconds(30)), headers, scope!, CancellationToken.None);
            return response.Status == 200;
        });
    }

    if (options.Runs(Report.Service))
    {
        var service = host.Services.GetRequiredService<SessionService>();
        results[Report.Service] = await Measure(Report.Service, c, async w =>
        {
            var r = await service.FetchAsync(BenchHost.AgentId, new FetchArguments(sessions[w], null, null, null, null, null), CancellationToken.None);
            return r.Status == 200;
        });
    }

    if (options.Runs(Report.Gateway))
    {
        breakdown.Reset();
        results[Report.Gateway] = await Measure(Report.Gateway, c, w => DurableBench.FetchAsync(clients[w % clients.Length], sessions[w]));
        breakdowns[c] = breakdown.Snapshot();
        Console.Error.WriteLine($"    in the gateway {breakdowns[c].CallMs:F3} ms per fetch (upstream {breakdowns[c].UpstreamMs:F3} ms × {breakdowns[c].UpstreamPerCall})");
    }

    if (options.Runs(Report.Noop))
    {
        results[Report.Noop] = await Measure(Report.Noop, c, w => DurableBench.NoopAsync(clients[w % clients.Length]));
    }

    if (options.Runs(Report.Start))
    {
        var paid = host.Url(DurableBench.PaidRoute);
        results[Report.Start] = await Measure(Report.Start, c, w => DurableBench.StartAsync(clients[w % clients.Length], paid, mustPay: true));
    }

    if (official is null && options.Runs(Report.Official))
    {
        var (r, trips) = await OfficialClient.RunAsync(root, weather, BenchHost.WalletKey, c, options.Warmup, options.Duration);
        results[Report.Official] = r;
        officialTrips = trips;
        LoadRunner.Print(Report.Official, r);
    }

    levels.Add(new LevelResult(c, results, Report.Ratios(results)));
}

var schemes = options.Runs("schemes") ? await SchemesBench.RunAsync(host, Measure) : null;

MemoryComparison? memory = null;
if (durable && options.Runs("memory"))
{
    // The in-memory target, side by side in the same run: a second host with grain state in memory, c=1.
    await using var memoryHost = await BenchHost.StartAsync(":memory:", options.CollectionAge);
    await using var memoryClient = await memoryHost.ConnectAsync();
    var memoryWeather = new Uri(memoryHost.Url("/demo/weather"));
    var memorySession = await DurableBench.StartSessionAsync(memoryClient, memoryWeather.AbsoluteUri);
    var memoryProof = await SignProofAsync(http, memoryWeather, signer);
    var memoryDirect = await Measure("direct_http (:memory: host)", 1, async _ =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, memoryWeather);
        request.Headers.TryAddWithoutValidation(X402Headers.SignInWithX, memoryProof);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode == HttpStatusCode.OK;
    });
    var memoryGateway = await Measure("gateway_fetch (:memory: host)", 1, _ => DurableBench.FetchAsync(memoryClient, memorySession));
    memory = new MemoryComparison(memoryDirect, memoryGateway);
}

StartHistoryResult? history = null;
if (options.StartHistory > 0)
{
    Console.Error.WriteLine($"start history: {options.StartHistory:N0} starts by one agent on {DurableBench.FreeRoute} …");
    history = await DurableBench.HistoryAsync(clients, host.Url(DurableBench.FreeRoute), options.StartHistory, 16, 1000);
    Console.Error.WriteLine($"  first {history.Window} p50 {history.FirstP50Ms:F3} ms, last {history.Window} p50 {history.LastP50Ms:F3} ms ({history.Seconds:F0} s, {history.Errors} errors)");
}

var grains = host.Services.GetRequiredService<IGrainFactory>();
var authorization = options.Runs("authorization") ? await GrainBench.AuthorizationAsync(grains, 64, options.Warmup, options.Duration) : null;
var bytesBefore = durable ? DurableBench.DatabaseBytes(storage) : 0;
var scale = options.Scale ? await GrainBench.ScaleAsync(grains, options.Sessions, options.SessionsPerAgent, storage) : null;
double? diskPerSession = durable && scale is { Sessions: > 0 } ? (DurableBench.DatabaseBytes(storage) - bytesBefore) / (double)scale.Sessions : null;
if (durable && scale is not null)
{
    Console.Error.WriteLine($"  disk after the scale step: file {DurableBench.FileBytes(storage):N0} B, WAL {DurableBench.FileBytes(storage + "-wal"):N0} B (before: {bytesBefore:N0} B together)");
}

AdoNetResult? adoNet = null;
if (options.AdoNet)
{
    var loadBefore = LoadAverage();
    adoNet = await ClusterBench.RunAsync(options, root);
    notes.Add($"AdoNet mode: separate processes built in {X402Orleans.Testing.NodeProcess.Configuration}; load average before it: {loadBefore}, after: {LoadAverage()}.");
}

notes.Add($"Load average (1/5/15 min) at start: {loadAtStart}; at end: {LoadAverage()}.");
var report = new BenchReport(
    startedAt,
    machine,
    new { options.Sessions, options.Quick, options.Concurrency, duration_seconds = options.Duration.TotalSeconds, warmup_seconds = options.Warmup.TotalSeconds, first_warmup_seconds = options.FirstWarmup.TotalSeconds, options.SessionsPerAgent, options.Storage },
    levels,
    schemes,
    breakdowns,
    officialTrips,
    authorization,
    scale,
    memory,
    history,
    diskPerSession,
    adoNet,
    Report.Targets(levels, authorization, scale, memory, history, diskPerSession, durable, adoNet),
    notes);
Console.WriteLine();
Console.WriteLine(Report.Table(report));
Directory.CreateDirectory(outDir);
var stamp = startedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
foreach (var (name, text) in new[] { ($"bench-{stamp}.json", Report.ToJson(report)), ($"bench-{stamp}.md", Report.Markdown(report)), ("latest.json", Report.ToJson(report)), ("latest.md", Report.Markdown(report)) })
{
    await File.WriteAllTextAsync(Path.Combine(outDir, name), text);
}

Console.WriteLine($"results: {Path.Combine(outDir, $"bench-{stamp}.json")} and .md (also latest.json / latest.md)");
foreach (var client in clients)
{
    await client.DisposeAsync();
}

if (options.Storage == "file")
{
    await host.DisposeAsync();
    foreach (var file in new[] { storage, storage + "-wal", storage + "-shm" })
    {
        File.Delete(file);
    }
}

return 0;

async Task<LoadResult> Measure(string name, int concurrency, Func<int, Task<bool>> call)
{
    var warmup = warmed.Add(name) && options.FirstWarmup > options.Warmup ? options.FirstWarmup : options.Warmup;
    var result = await LoadRunner.RunAsync(concurrency, warmup, options.Duration, call);
    LoadRunner.Print(name, result);
    return result;
}

static async Task<string> SignProofAsync(HttpClient http, Uri url, IPaymentSigner signer)
{
    using var challenge = await http.GetAsync(url);
    if (challenge.StatusCode != HttpStatusCode.PaymentRequired || !challenge.Headers.TryGetValues(X402Headers.PaymentRequired, out var values)
        || !PaymentRequired.TryDecodeHeader(values.First(), out var required, out var why)
        || !SiwxChallenge.TryRead(required!.Extensions, out var siwx, out why))
    {
        throw new InvalidOperationException($"{url} did not answer with a sign-in-with-x challenge");
    }

    var proof = await SiwxSigner.SignAsync(siwx!, signer, url);
    return proof.HeaderValue;
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static string RepoRoot()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "X402Orleans.sln")))
            {
                return dir.FullName;
            }
        }
    }

    throw new InvalidOperationException("run the benchmark from the repository (X402Orleans.sln not found above the current directory)");
}
