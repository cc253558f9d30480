using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Observability;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// OpenTelemetry metrics and traces of a real demo flow (start → pay → fetch by sign-in-with-x → end), seen through a
/// <see cref="MeterListener"/> and through the host's own OpenTelemetry pipeline with in-memory exporters.
/// </summary>
public sealed class ObservabilityTests
{
    private const string Weather = "/demo/weather";

    [Fact]
    public async Task Metrics_CountSessionsPaymentsCallsAndUpstreamStatus_AfterDemoFlow()
    {
        using var recorder = new MeasurementRecorder(X402Diagnostics.Name);
        await using var host = await GatewayHost.StartAsync();
        await using var agent = await host.ConnectAsync(GatewayHost.AgentAKey);

        var sessionId = await StartFetchTwiceAndEndAsync(host, agent);

        Assert.Equal(1, recorder.Sum("x402.sessions.started", ("x402.reuse", "sign-in-with-x")));
        Assert.Equal(1, recorder.Sum("x402.sessions.ended"));
        Assert.Equal(0, recorder.Sum("x402.sessions.active"));
        Assert.Equal(1, recorder.Sum("x402.payments", ("x402.payment.outcome", "settled"), ("x402.network", "eip155:84532"), ("x402.asset", "USDC")));
        Assert.Equal(1000, recorder.Sum("x402.payment.amount_atomic"));
        Assert.Equal(0.001, Assert.Single(recorder.Values("x402.payment.amount")), 9);
        Assert.Equal(2, recorder.Count("x402.call.duration", ("x402.operation", "fetch"), ("x402.outcome", "ok"), ("x402.access", "sign-in-with-x")));
        Assert.Equal(1, recorder.Count("x402.call.duration", ("x402.operation", "start"), ("x402.outcome", "ok"), ("x402.access", "paid")));
        Assert.Equal(2, recorder.Sum("x402.upstream.responses", ("http.response.status_code", 402)));
        Assert.Equal(3, recorder.Sum("x402.upstream.responses", ("http.response.status_code", 200)));
        Assert.All(recorder.Values("x402.upstream.duration"), d => Assert.InRange(d, 0, 30));
        Assert.False(string.IsNullOrEmpty(sessionId));
    }

    [Fact]
    public async Task Metrics_CountFailedCallsAndRefusedPayments_WhenPriceExceedsMaxPayment()
    {
        using var recorder = new MeasurementRecorder(X402Diagnostics.Name);
        await using var host = await GatewayHost.StartAsync();
        await using var agent = await host.ConnectAsync(GatewayHost.AgentAKey);

        (await agent.StartAsync(host.Url(Weather), new() { ["max_payment"] = "0.0001" })).Error();

        Assert.Equal(0, recorder.Sum("x402.sessions.started"));
        Assert.Equal(1, recorder.Sum("x402.sessions.failed"));
        Assert.Equal(0, recorder.Sum("x402.payments", ("x402.payment.outcome", "settled")));
        Assert.Equal(1, recorder.Count("x402.call.duration", ("x402.operation", "start"), ("x402.outcome", "error")));
    }

    [Fact]
    public async Task OpenTelemetry_ExportsX402MetricsAndOneTraceFromMcpCallThroughGrainToUpstream()
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using var reader = new BaseExportingMetricReader(new InMemoryExporter<Metric>(metrics));
        await using var host = await GatewayHost.StartAsync(
            new Dictionary<string, string?> { ["X402:Observability:Tracing"] = "true" },
            b => b.Services.AddOpenTelemetry().WithMetrics(m => m.AddReader(reader)).WithTracing(t => t.AddInMemoryExporter(spans)));
        await using var agent = await host.ConnectAsync(GatewayHost.AgentAKey);

        await StartFetchTwiceAndEndAsync(host, agent);
        reader.Collect();

        var names = metrics.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in new[] { "x402.sessions.started", "x402.sessions.active", "x402.payments", "x402.payment.amount", "x402.call.duration", "x402.upstream.duration", "x402.upstream.responses" })
        {
            Assert.Contains(name, names);
        }

        Activity[] snapshot;
        lock (spans)
        {
            snapshot = [.. spans];
        }

        var fetch = snapshot.Last(a => a.OperationName == "x402.session.fetch");
        var trace = snapshot.Where(a => a.TraceId == fetch.TraceId).ToList();
        Activity? Parent(Activity a) => trace.FirstOrDefault(p => p.SpanId == a.ParentSpanId);
        bool Under(Activity a, Activity ancestor)
        {
            for (var p = Parent(a); p is not null; p = Parent(p))
            {
                if (p.SpanId == ancestor.SpanId)
                {
                    return true;
                }
            }

            return false;
        }

        var mcpCall = trace.FirstOrDefault(a => a.Source.Name == "Experimental.ModelContextProtocol" && Under(fetch, a));
        Assert.True(mcpCall is not null, "the MCP tools/call span is an ancestor of x402.session.fetch: " + Describe(trace));
        Assert.Contains(trace, a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.DisplayName.Contains("BeginCall", StringComparison.Ordinal) && Under(a, fetch));
        Assert.DoesNotContain(trace, a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.DisplayName.Contains("CompleteCall", StringComparison.Ordinal) && Under(a, fetch));
        var upstream = Assert.Single(trace, a => a.OperationName == "x402.upstream GET" && Under(a, fetch));
        Assert.Equal(200, upstream.GetTagItem("http.response.status_code"));
        Assert.Equal(Weather, upstream.GetTagItem("url.path"));
        Assert.Equal("sign-in-with-x", fetch.GetTagItem("x402.access"));

        // The paywall (same process) continues the trace from the propagated traceparent.
        Assert.Contains(trace, a => a.Kind == ActivityKind.Server && Under(a, upstream));
    }

    [Fact]
    public async Task Health_LiveAndReady_Return200_WhenTheClusterIsUp()
    {
        await using var host = await GatewayHost.StartAsync();

        using var live = await host.GetAsync("/health/live");
        using var ready = await host.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        var orleans = body.RootElement.GetProperty("checks").GetProperty("orleans");
        Assert.Equal("Healthy", orleans.GetProperty("status").GetString());
        Assert.Equal(1, orleans.GetProperty("data").GetProperty("active_silos").GetInt32());
    }

    [Fact]
    public async Task Health_ReadyReturns503AndLiveStays200_WhenTheSiloHasStopped()
    {
        await using var host = await GatewayHost.StartAsync();
        using (var before = await host.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await host.Services.GetRequiredService<Orleans.Runtime.Silo>().StopAsync(stop.Token);
        }

        using var ready = await host.GetAsync("/health/ready");
        using var live = await host.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Unhealthy", body.RootElement.GetProperty("checks").GetProperty("orleans").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Health_ReadyNamesTheFailingCheck_WhenARegisteredReadinessCheckFails()
    {
        await using var host = await GatewayHost.StartAsync(configure: b => b.Services.AddX402ReadinessCheck<DownCheck>("database"));

        using var ready = await host.GetAsync("/health/ready");
        using var live = await host.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var checks = body.RootElement.GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("orleans").GetProperty("status").GetString());
    }

    [Fact]
    public async Task NoopTool_IsListedAndAnswers_OnlyWhenTheDiagnosticsOptionIsOn()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["X402:Diagnostics:NoopTool"] = "true" });
        await using var agent = await host.ConnectAsync(GatewayHost.AgentAKey);

        var tools = await agent.ListToolsAsync();
        var outcome = (await agent.CallAsync("x402_noop", new() { ["echo"] = "hi" })).Ok();

        Assert.Contains(tools, t => t.ProtocolTool.Name == "x402_noop");
        Assert.Equal("hi", outcome.Structured.Str("echo"));
        Assert.Equal(GatewayHost.AgentAId, outcome.Structured.Str("agent"));
    }

    /// <summary>The demo flow: a paid start, two fetches by sign-in-with-x, an end; returns the session id.</summary>
    internal static async Task<string> StartFetchTwiceAndEndAsync(GatewayHost host, ModelContextProtocol.Client.McpClient agent)
    {
        var started = (await agent.StartAsync(host.Url(Weather))).Ok();
        var sessionId = started.Structured.Str("session_id");
        for (var i = 0; i < 2; i++)
        {
            var fetched = (await agent.FetchAsync(sessionId)).Ok();
            Assert.Equal("sign-in-with-x", fetched.Structured.Str("access"));
        }

        Assert.Equal("ended", (await agent.EndAsync(sessionId)).Ok().Structured.Str("outcome"));
        return sessionId;
    }

    private sealed class DownCheck : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(HealthCheckResult.Unhealthy("down for the test"));
    }

    private static string Describe(IEnumerable<Activity> trace) =>
        string.Join("; ", trace.Select(a => $"{a.Source.Name}:{a.DisplayName}"));

    /// <summary>Every measurement of one meter's instruments, with tags, from creation to dispose.</summary>
    private sealed class MeasurementRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

        public MeasurementRecorder(string meterName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == meterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => _measurements.Enqueue((i.Name, v, t.ToArray())));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => _measurements.Enqueue((i.Name, v, t.ToArray())));
            _listener.Start();
        }

        public double Sum(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Sum(m => m.Value);

        public int Count(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Count();

        public IReadOnlyList<double> Values(string name) => [.. Matching(name, []).Select(m => m.Value)];

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string name, (string Key, object Value)[] tags) =>
            _measurements.Where(m => m.Name == name && tags.All(t => m.Tags.Any(k => k.Key == t.Key && string.Equals(
                Convert.ToString(k.Value, CultureInfo.InvariantCulture), Convert.ToString(t.Value, CultureInfo.InvariantCulture), StringComparison.Ordinal))));
    }
}
