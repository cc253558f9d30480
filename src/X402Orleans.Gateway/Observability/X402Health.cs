using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// Health endpoints: <c>/health/live</c> (the process serves requests; checks tagged <see cref="LiveTag"/>) and <c>/health/ready</c>
/// (it can do its work: the Orleans cluster answers and, where one is configured, the database does; checks tagged
/// <see cref="ReadyTag"/>). Other components add readiness checks with <see cref="AddX402ReadinessCheck{T}"/> or
/// <see cref="AddX402DatabaseCheck"/>. 200 when healthy (or degraded), 503 when not; the JSON body names each check's status and a
/// short description, never exception details.
/// </summary>
public static partial class X402Health
{
    /// <summary>Tag of liveness checks.</summary>
    public const string LiveTag = "live";

    /// <summary>Tag of readiness checks.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The liveness path.</summary>
    public const string LivePath = "/health/live";

    /// <summary>The readiness path.</summary>
    public const string ReadyPath = "/health/ready";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>Registers the health checks: process liveness, and readiness of the host and the Orleans cluster (a management-grain call).</summary>
    public static IHealthChecksBuilder AddX402HealthChecks(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("serving requests"), [LiveTag])
            .AddCheck<OrleansClusterHealthCheck>("orleans", HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(10));
    }

    /// <summary>The extension point for readiness: adds <typeparamref name="T"/> to <c>/health/ready</c>.</summary>
    public static IHealthChecksBuilder AddX402ReadinessCheck<T>(this IServiceCollection services, string name)
        where T : class, IHealthCheck
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddHealthChecks().AddCheck<T>(name, HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Adds a database to <c>/health/ready</c>: opens a connection from <paramref name="connect"/> and runs <c>SELECT 1</c>. The
    /// connection string never appears in the result.
    /// </summary>
    public static IHealthChecksBuilder AddX402DatabaseCheck(this IServiceCollection services, string name, Func<DbConnection> connect)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connect);
        return services.AddHealthChecks().Add(new HealthCheckRegistration(
            name,
            sp => new DatabaseHealthCheck(name, connect, sp.GetRequiredService<ILogger<DatabaseHealthCheck>>()),
            HealthStatus.Unhealthy,
            [ReadyTag],
            TimeSpan.FromSeconds(10)));
    }

    /// <summary>Maps <c>/health/live</c> and <c>/health/ready</c> (anonymous).</summary>
    public static IEndpointRouteBuilder MapX402Health(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks(LivePath, Options(LiveTag)).AllowAnonymous();
        endpoints.MapHealthChecks(ReadyPath, Options(ReadyTag)).AllowAnonymous();
        return endpoints;
    }

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = r => r.Tags.Contains(tag),
        ResponseWriter = WriteAsync,
        AllowCachingResponses = false,
    };

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            duration_ms = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, duration_ms = Math.Round(e.Value.Duration.TotalMilliseconds, 1), data = e.Value.Data.Count == 0 ? null : e.Value.Data }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
    }

    /// <summary>The cluster answers: the host has started and is not stopping, and the management grain lists at least one active silo.</summary>
    internal sealed partial class OrleansClusterHealthCheck(IGrainFactory grains, IHostApplicationLifetime lifetime, ILogger<OrleansClusterHealthCheck> logger) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!lifetime.ApplicationStarted.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("starting");
            }

            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("stopping");
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                var data = new Dictionary<string, object> { ["active_silos"] = hosts.Count, ["ping_ms"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1) };
                return hosts.Count > 0
                    ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)", data)
                    : HealthCheckResult.Unhealthy("no active silo", data: data);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.ClusterUnhealthy(logger, ex);
                return HealthCheckResult.Unhealthy($"the cluster did not answer ({ex.GetType().Name})");
            }
        }

        private static partial class Log
        {
            [LoggerMessage(600, LogLevel.Warning, "Readiness: the Orleans cluster did not answer")]
            public static partial void ClusterUnhealthy(ILogger logger, Exception exception);
        }
    }

    /// <summary>A database answers <c>SELECT 1</c>.</summary>
    internal sealed partial class DatabaseHealthCheck(string name, Func<DbConnection> connect, ILogger<DatabaseHealthCheck> logger) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await using var connection = connect();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await connection.OpenAsync(timeout.Token);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                await command.ExecuteScalarAsync(timeout.Token);
                return HealthCheckResult.Healthy($"{name} answers", new Dictionary<string, object> { ["query_ms"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1) });
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.DatabaseUnhealthy(logger, name, ex);
                return HealthCheckResult.Unhealthy($"{name} did not answer ({ex.GetType().Name})");
            }
        }

        private static partial class Log
        {
            [LoggerMessage(601, LogLevel.Warning, "Readiness: database {Name} did not answer")]
            public static partial void DatabaseUnhealthy(ILogger logger, string name, Exception exception);
        }
    }
}
