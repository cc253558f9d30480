using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Http;
using X402Orleans.Payments.Scope;
using Xunit;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// What an upstream API learns of the gateway's tracing: nothing while tracing is off (no <c>traceparent</c> from the MCP request's
/// activity), the trace context when it is on.
/// </summary>
public sealed class UpstreamTraceContextTests : IAsyncLifetime
{
    private WebApplication? _server;
    private Uri? _url;
    private string? _seen;

    public async Task InitializeAsync()
    {
        var port = FreePorts.One();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        _server = builder.Build();
        _server.MapGet("/api", (HttpContext ctx) =>
        {
            _seen = ctx.Request.Headers.TraceParent.ToString();
            return "ok";
        });
        await _server.StartAsync();
        _url = new Uri($"http://127.0.0.1:{port}/api");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task SendAsync_SendsNoTraceparent_WhenTracingIsOff()
    {
        Assert.Equal(string.Empty, await TraceparentSeenAsync(new Dictionary<string, string?>()));
    }

    [Fact]
    public async Task SendAsync_PropagatesTheCurrentTrace_WhenTracingIsOn()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(listener);

        var seen = await TraceparentSeenAsync(new Dictionary<string, string?> { ["X402:Observability:Tracing"] = "true" }, out var traceId);

        Assert.Contains(traceId, seen, StringComparison.Ordinal);
    }

    private Task<string> TraceparentSeenAsync(Dictionary<string, string?> settings) => TraceparentSeenAsync(settings, out _);

    private Task<string> TraceparentSeenAsync(Dictionary<string, string?> settings, out string traceId)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = Options.Create(new X402Options());
        var policy = new OutboundPolicy(options);
        policy.AllowEndpoint(_url!.Host, _url.Port);
        EndpointScope.TryCreate(_url.AbsoluteUri, ScopeMode.Prefix, out var scope, out _);

        // As inside an MCP request: ASP.NET Core has made the request's activity current.
        var incoming = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").SetIdFormat(ActivityIdFormat.W3C).Start();
        traceId = incoming.TraceId.ToHexString();
        return SendAsync(policy, options, configuration, scope!, incoming);
    }

    private async Task<string> SendAsync(OutboundPolicy policy, IOptions<X402Options> options, IConfiguration configuration, EndpointScope scope, Activity incoming)
    {
        using var upstream = new UpstreamHttp(policy, options, configuration);
        try
        {
            var response = await upstream.SendAsync(new UpstreamRequest(HttpMethod.Get, _url!, new Dictionary<string, string>(), null, TimeSpan.FromSeconds(10)), new Dictionary<string, string>(), scope, CancellationToken.None);
            Assert.Equal(200, response.Status);
        }
        finally
        {
            incoming.Stop();
        }

        return _seen ?? string.Empty;
    }
}
