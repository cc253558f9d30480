using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// The Orleans dashboard (<c>Microsoft.Orleans.Dashboard</c>) for operators: silos collect and host its grains
/// (<see cref="AddX402Dashboard(ISiloBuilder, IConfiguration)"/>), gateway processes read them as clients
/// (<see cref="AddX402Dashboard(IClientBuilder, IConfiguration)"/>), and the console mounts its pages and API with
/// <see cref="MapX402OrleansDashboard"/> behind its own authorization policy. Settings (<c>X402:Dashboard</c>): <c>Enabled</c>
/// (default true; false registers nothing, so no grain-call filter, no collector and no routes), and the dashboard's own
/// <c>HideTrace</c> (hide its live log stream), <c>CounterUpdateIntervalMs</c> (≥ 1000) and <c>HistoryLength</c>.
/// </summary>
public static class X402Dashboard
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "X402:Dashboard";

    /// <summary>The default mount point, under the operator console.</summary>
    public const string DefaultPrefix = "/console/dashboard";

    /// <summary>Whether the dashboard is on (<c>X402:Dashboard:Enabled</c>, default true).</summary>
    public static bool Enabled(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetValue($"{SectionName}:Enabled", defaultValue: true);
    }

    /// <summary>
    /// Silo side, when enabled: the dashboard's silo services (its grains and grain service, the grain-call profiler filter — a
    /// no-op branch unless someone watched the dashboard in the last minute — and its Orleans meter collector).
    /// </summary>
    public static ISiloBuilder AddX402Dashboard(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (Enabled(configuration))
        {
            silo.AddDashboard(o => Bind(o, configuration));
            silo.Services.AddSingleton<DashboardMarker>();
        }

        return silo;
    }

    /// <summary>Client side (a gateway process), when enabled: reads the silos' dashboard grains; nothing runs until a page is served.</summary>
    public static IClientBuilder AddX402Dashboard(this IClientBuilder client, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (Enabled(configuration))
        {
            client.AddDashboard(o => Bind(o, configuration));
            client.Services.AddSingleton<DashboardMarker>();
        }

        return client;
    }

    /// <summary>
    /// Maps the dashboard's page, assets and JSON API under <paramref name="prefix"/> (<c>{prefix}</c> redirects to
    /// <c>{prefix}/</c>) and returns the group, so the caller adds its policy, e.g.
    /// <c>app.MapX402OrleansDashboard().RequireAuthorization("X402Operator")</c>. With the dashboard off in this process
    /// every route under the prefix answers 404 (the group is still returned, with the same conventions).
    /// </summary>
    public static RouteGroupBuilder MapX402OrleansDashboard(this IEndpointRouteBuilder endpoints, string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        prefix = "/" + prefix.Trim('/');
        if (endpoints.ServiceProvider.GetService<DashboardMarker>() is not null)
        {
            return endpoints.MapOrleansDashboard(prefix);
        }

        var off = endpoints.MapGroup(prefix);
        off.MapGet("/{**rest}", () => Results.NotFound());
        return off;
    }

    private static void Bind(DashboardOptions options, IConfiguration configuration) => configuration.GetSection(SectionName).Bind(options);

    /// <summary>Registered where the dashboard's services are.</summary>
    private sealed class DashboardMarker;
}
