using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// Wires <see cref="PrometheusOptions"/> into a web host: the exporter on the host's OpenTelemetry meters (see
/// <see cref="X402Observability.Meters"/>), the own endpoint and the scrape route with its access rules.
/// </summary>
public static partial class PrometheusEndpoint
{
    /// <summary>
    /// Reads and validates <c>X402:Metrics:Prometheus</c> (throws naming a bad setting) and, when enabled, adds the Prometheus
    /// exporter and the own endpoint (appended to the host's URLs: call it after they are set). Call once per host.
    /// </summary>
    public static WebApplicationBuilder AddX402Prometheus(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = PrometheusOptions.Read(builder.Configuration);
        builder.Services.AddSingleton<IValidateOptions<PrometheusOptions>, PrometheusOptionsValidator>();
        builder.Services.AddOptions<PrometheusOptions>().Bind(builder.Configuration.GetSection(PrometheusOptions.SectionName)).ValidateOnStart();
        if (!options.Enabled)
        {
            return builder;
        }

        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPrometheusExporter());
        if (options.OwnUrl is { } own)
        {
            string[] urls = [.. (builder.Configuration[WebHostDefaults.ServerUrlsKey] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            if (urls.Any(u => Uri.TryCreate(u.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Port == options.Port))
            {
                throw new InvalidConfigurationException($"{PrometheusOptions.SectionName}:Port must be a port of its own, not one of the host's URLs ({string.Join(';', urls)})");
            }

            builder.WebHost.UseUrls([.. urls, own]);
        }

        return builder;
    }

    /// <summary>
    /// When enabled: maps <c>/metrics</c> behind its access rules (own port: served there only, and nothing else is served on
    /// that port; key: <c>Authorization: Bearer</c> required, else 401; neither: loopback clients only, else 403). Call it
    /// right after building the host, before the other routes' middleware.
    /// </summary>
    public static WebApplication MapX402Prometheus(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<PrometheusOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        var keyHash = options.RequiresKey ? Hash(options.ApiKey!) : null;
        app.Use((context, next) => Gate(context, next, options, keyHash));
        app.MapPrometheusScrapingEndpoint(PrometheusOptions.Path).DisableHttpMetrics();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("X402Orleans.Metrics");
        app.Lifetime.ApplicationStarted.Register(() => Log.Serving(
            logger,
            options.OwnUrl is { } own ? own + PrometheusOptions.Path : PrometheusOptions.Path + " on the host's URLs",
            options.RequiresKey ? "bearer key" : options.Port is null ? "loopback clients only" : "anyone reaching the port"));
        return app;
    }

    /// <summary>The port served only by <c>/metrics</c>, when one is configured and enabled.</summary>
    public static int? OwnPort(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetService<IOptions<PrometheusOptions>>()?.Value is { Enabled: true, Port: { } port } ? port : null;
    }

    private static Task Gate(HttpContext context, RequestDelegate next, PrometheusOptions options, byte[]? keyHash)
    {
        var scrape = context.Request.Path.Equals(PrometheusOptions.Path, StringComparison.OrdinalIgnoreCase);
        if (options.Port is { } port && (context.Connection.LocalPort == port) != scrape)
        {
            // The own port serves only /metrics, and /metrics is served only there.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        if (!scrape)
        {
            return next(context);
        }

        if (keyHash is not null)
        {
            var header = context.Request.Headers.Authorization.ToString();
            const string Prefix = "Bearer ";
            if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || !CryptographicOperations.FixedTimeEquals(keyHash, Hash(header[Prefix.Length..].Trim())))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return context.Response.WriteAsync($"Refused: /metrics needs Authorization: Bearer <{PrometheusOptions.SectionName}:ApiKey>.");
            }
        }
        else if (options.Port is null && context.Connection.RemoteIpAddress is { } remote && !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return context.Response.WriteAsync($"Refused: /metrics serves only loopback clients unless {PrometheusOptions.SectionName}:ApiKey or :Port is set.");
        }

        return next(context);
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static partial class Log
    {
        [LoggerMessage(460, LogLevel.Information, "Prometheus metrics at {Url} ({Access})")]
        public static partial void Serving(ILogger logger, string url, string access);
    }
}
