using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// ServiceDefaults-style observability for every X402Orleans process: OpenTelemetry metrics (X402Orleans, Orleans, MCP, ASP.NET Core,
/// HttpClient, .NET runtime) and traces (MCP call → <c>x402.session.*</c> → Orleans grain calls → <c>x402.upstream</c> → HttpClient),
/// exported by OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (standard <c>OTEL_*</c> variables apply); and the health checks of
/// <see cref="X402Health"/>. Settings (<c>X402:Observability</c>): <c>Tracing</c> (default: on when an OTLP endpoint is set; spans cost
/// nothing while off) and <c>ServiceName</c> (default <c>x402orleans</c>, or <c>OTEL_SERVICE_NAME</c>).
/// </summary>
public static class X402Observability
{
    /// <summary>Activity sources traced (Orleans' need <c>AddActivityPropagation</c> on the silo or client builder).</summary>
    public static readonly IReadOnlyList<string> ActivitySources =
    [
        X402Diagnostics.Name,
        "Microsoft.Orleans.Runtime",
        "Microsoft.Orleans.Application",
        "Experimental.ModelContextProtocol",
    ];

    /// <summary>Meters collected (ASP.NET Core and HttpClient meters are added by their instrumentation).</summary>
    public static readonly IReadOnlyList<string> Meters =
    [
        X402Diagnostics.Name,
        "Microsoft.Orleans",
        "Experimental.ModelContextProtocol",
        "System.Runtime",
    ];

    /// <summary>The configuration section.</summary>
    public const string SectionName = "X402:Observability";

    /// <summary>
    /// Whether traces are recorded: <c>X402:Observability:Tracing</c>, else on exactly when an OTLP endpoint is set. With tracing
    /// off, nothing propagates trace context either (no Orleans activity propagation, no <c>traceparent</c> on upstream calls):
    /// it would cost every call and serve no one.
    /// </summary>
    public static bool TracingEnabled(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetValue<bool?>($"{SectionName}:Tracing") ?? !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
    }

    /// <summary>Adds OpenTelemetry metrics and traces and the health checks. Call once per host.</summary>
    public static TBuilder AddX402Observability<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var tracing = TracingEnabled(configuration);
        var serviceName = configuration[$"{SectionName}:ServiceName"] ?? configuration["OTEL_SERVICE_NAME"] ?? "x402orleans";

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceVersion: typeof(X402Observability).Assembly.GetName().Version?.ToString(3)))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. Meters]);
                metrics.AddAspNetCoreInstrumentation();
                metrics.AddHttpClientInstrumentation();
            });
        if (tracing)
        {
            telemetry.WithTracing(traces =>
            {
                traces.AddSource([.. ActivitySources]);
                traces.AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal));
                traces.AddHttpClientInstrumentation();
            });
        }

        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(logs =>
            {
                logs.IncludeFormattedMessage = true;
                logs.IncludeScopes = true;
            });
            telemetry.UseOtlpExporter();
        }

        builder.Services.AddX402HealthChecks();
        return builder;
    }
}
