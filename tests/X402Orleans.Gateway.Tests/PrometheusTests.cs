using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using X402Orleans.Hosting;
using X402Orleans.Silo;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// <c>/metrics</c> (<c>X402:Metrics:Prometheus</c>) on the real host: off by default, the Prometheus text format with the
/// X402Orleans metrics when enabled, and its access rules (bearer key, own port, fail-fast settings).
/// </summary>
public sealed partial class PrometheusTests
{
    private const string Key = "prometheus-scrape-key-0123456789abcdef";

    [Fact]
    public async Task Metrics_ServesX402MetricsInPrometheusTextFormat_WhenEnabled()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Enabled", "true")));
        await using var agent = await host.ConnectAsync(GatewayHost.AgentAKey);
        await ObservabilityTests.StartFetchTwiceAndEndAsync(host, agent);

        using var response = await host.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var samples = Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, samples.Single(s => s.Name == "x402_sessions_started_total").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "x402_sessions_ended_total").Value);
        Assert.Equal(0, samples.Single(s => s.Name == "x402_sessions_active").Value);
        var settled = samples.Single(s => s.Name == "x402_payments_total");
        Assert.Contains("x402_payment_outcome=\"settled\"", settled.Labels, StringComparison.Ordinal);
        Assert.Equal(1, settled.Value);
        Assert.Equal(1000, samples.Single(s => s.Name == "x402_payment_amount_atomic_total").Value);
        Assert.Equal(2, samples.Where(s => s.Name == "x402_call_duration_seconds_count" && s.Labels.Contains("x402_operation=\"fetch\"", StringComparison.Ordinal)).Sum(s => s.Value));
        Assert.Contains(samples, s => s.Name == "x402_call_duration_seconds_bucket" && s.Labels.Contains("le=\"+Inf\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name == "x402_upstream_duration_seconds_sum");
        Assert.Equal(1, samples.Single(s => s.Name == "x402_payment_amount_count").Value);
        Assert.Equal(3, samples.Single(s => s.Name == "x402_upstream_responses_total" && s.Labels.Contains("http_response_status_code=\"200\"", StringComparison.Ordinal)).Value);
        Assert.Contains(samples, s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_NotFound_WhenNotEnabled()
    {
        await using var host = await GatewayHost.StartAsync();

        using var response = await host.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_RefusedWith401_WhenKeyConfiguredAndMissingOrWrong()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Enabled", "true"), ("ApiKey", Key)));
        using var http = new HttpClient { BaseAddress = host.BaseUri };

        using var missing = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        using var wrong = await ScrapeAsync(http, "/metrics", Key + "x");
        using var right = await ScrapeAsync(http, "/metrics", Key);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains(Parse(await right.Content.ReadAsStringAsync()), s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_ServedOnlyOnItsOwnPort_WhenPortConfigured()
    {
        var port = X402Orleans.Testing.FreePorts.One();
        await using var host = await GatewayHost.StartAsync(Settings(("Enabled", "true"), ("Port", port.ToString(CultureInfo.InvariantCulture))));
        using var own = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var onMain = await host.GetAsync("/metrics");
        using var scraped = await own.GetAsync(new Uri("/metrics", UriKind.Relative));
        using var healthOnOwn = await own.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, onMain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains(Parse(await scraped.Content.ReadAsStringAsync()), s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, healthOnOwn.StatusCode);
    }

    [Theory]
    [InlineData("ApiKey", "too-short", "X402:Metrics:Prometheus:ApiKey must be at least 32 characters")]
    [InlineData("Port", "70000", "X402:Metrics:Prometheus:Port must be a TCP port between 1 and 65535")]
    [InlineData("Address", "not an address", "X402:Metrics:Prometheus:Address must be an IP address")]
    [InlineData("Port", "abc", "X402:Metrics:Prometheus")]
    [InlineData("Port", "59999", "X402:Metrics:Prometheus:Port must be a port of its own")]
    public async Task Start_StopsWithOneLineNamingTheSetting_WhenASettingIsInvalid(string setting, string value, string expected)
    {
        using var error = new StringWriter();
        var settings = Settings(("Enabled", "true"), (setting, value));
        settings["X402:Storage:Path"] = ":memory:";

        var code = await ConfigurationGuard.RunAsync(
            () => X402Host.CreateWebApp(["--urls", "http://127.0.0.1:59999"], b => b.Configuration.AddInMemoryCollection(settings)),
            X402Host.Validate,
            error);

        Assert.Equal(ConfigurationGuard.ExitCode, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(ConfigurationGuard.Prefix, line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(params (string Name, string Value)[] values) =>
        values.ToDictionary(v => $"X402:Metrics:Prometheus:{v.Name}", v => (string?)v.Value, StringComparer.Ordinal);

    private static Task<HttpResponseMessage> ScrapeAsync(HttpClient http, string path, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http.SendAsync(request);
    }

    /// <summary>
    /// Parses the Prometheus text exposition format: <c># HELP</c>/<c># TYPE</c> comments and <c>name{labels} value [timestamp]</c>
    /// samples; fails on any other line, so a malformed exposition is caught.
    /// </summary>
    private static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || line == "# EOF")
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, "not a Prometheus sample line: " + line);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, match.Groups["labels"].Value, value));
        }

        Assert.NotEmpty(samples);
        return samples;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*)\})? (?<value>\S+)( -?\d+)?$""")]
    private static partial Regex SampleLine();

    private sealed record Sample(string Name, string Labels, double Value);
}
