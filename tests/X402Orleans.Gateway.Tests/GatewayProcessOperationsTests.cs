using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using X402Orleans.StandaloneGateway;
using X402Orleans.Gateway.Observability;
using X402Orleans.Hosting;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// A standalone gateway process (<see cref="GatewayProcess"/>, an Orleans client) next to the silo host: it serves
/// <c>/metrics</c>, reads the cluster's Orleans dashboard as a client, and shares the silo host's data-protection key ring.
/// </summary>
public sealed class GatewayProcessOperationsTests
{
    [Fact]
    public async Task GatewayProcess_ServesMetricsDashboardAndSharedKeyRing_WhenJoinedToTheSilo()
    {
        await using var silo = await GatewayHost.StartAsync();
        var port = X402Orleans.Testing.FreePorts.One();
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["X402:Cluster:GatewayPort"] = silo.Services.GetRequiredService<X402ClusterSettings>().Cluster.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["X402:Agents:0:Id"] = GatewayHost.AgentAId,
            ["X402:Agents:0:ApiKey"] = GatewayHost.AgentAKey,
            ["X402:Metrics:Prometheus:Enabled"] = "true",
        };
        var gateway = GatewayProcess.CreateWebApp(["--urls", $"http://127.0.0.1:{port}"], b => b.Configuration.AddInMemoryCollection(settings));
        gateway.MapX402OrleansDashboard();
        await using var stop = new AsyncStop(gateway);
        await gateway.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        using var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        using var grainTypes = await http.GetAsync(new Uri("/console/dashboard/GrainTypes", UriKind.Relative));
        var cookie = silo.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("console").Protect("operator admin");

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE ", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, grainTypes.StatusCode);
        using var types = JsonDocument.Parse(await grainTypes.Content.ReadAsStringAsync());
        Assert.Contains(typeof(X402Orleans.Grains.SessionGrain).FullName, types.RootElement.EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("operator admin", gateway.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("console").Unprotect(cookie));
    }

    private sealed class AsyncStop(WebApplication app) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Hosts.StopAndDisposeAsync(app);
    }
}
