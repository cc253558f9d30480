using X402Orleans.Gateway;
using X402Orleans.Gateway.Observability;
using X402Orleans.Hosting;
using X402Orleans.OperatorConsole;

// The namespace is not the project name: test code names its embedded test host GatewayHost, inside X402Orleans.*.
namespace X402Orleans.StandaloneGateway;

/// <summary>
/// Builds a standalone gateway: MCP over Streamable HTTP, the payment exchange and the wallet, and an Orleans client
/// (AdoNet mode: finds the silos in PostgreSQL; Local mode: the silo on localhost's gateway port). Holds no grain state,
/// so any number of these can serve the same cluster.
/// </summary>
public static class GatewayProcess
{
    /// <summary>The default listening URL.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5090";

    /// <summary>Creates the host; <paramref name="configure"/> lets tests add configuration.</summary>
    public static WebApplication CreateWebApp(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory }); // appsettings.json beside the program, wherever it is started
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        configure?.Invoke(builder);
        builder.AddX402Prometheus();
        var settings = X402ClusterSettings.Read(builder.Configuration);
        builder.UseOrleansClient(client =>
        {
            ClientHosting.Configure(client, settings, X402Observability.TracingEnabled(builder.Configuration));
            client.AddX402Dashboard(builder.Configuration);
        });
        builder.Services.AddX402Gateway(builder.Configuration, GatewayTransport.Http);
        builder.Services.AddX402Console(builder.Configuration);
        builder.AddX402Observability();
        var app = builder.Build();
        app.MapX402Prometheus();
        app.MapX402Console(); // before the gateway: its /console authentication and headers come first
        app.MapX402Gateway();
        app.MapX402Health();
        app.MapGet("/healthz", (IHostApplicationLifetime lifetime, IClusterClient _) =>
            lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested
                ? Results.Ok(new { status = "ok", role = "gateway", mode = settings.Cluster.Mode })
                : Results.Json(new { status = "starting" }, statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }

    /// <summary>Checks, before the host serves, the options built from settings (their validator names each bad setting).</summary>
    public static void Validate(IServiceProvider services) => ConfigurationGuard.ValidateOptions<Gateway.Configuration.X402Options>(services);
}
