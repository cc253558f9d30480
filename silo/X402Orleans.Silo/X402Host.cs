using Microsoft.Extensions.Options;
using X402Orleans.Gateway;
using X402Orleans.Gateway.Demo;
using X402Orleans.Gateway.Observability;
using X402Orleans.Hosting;
using X402Orleans.OperatorConsole;
using X402Orleans.Payments.Signing;
using X402Orleans.Silo.Observability;

namespace X402Orleans.Silo;

/// <summary>
/// Builds the silo host: an Orleans silo co-hosting the MCP gateway (the one-command default), or, with
/// <c>X402:Cluster:HostMcp=false</c>, a silo alone (cluster nodes behind standalone gateways). Tests build the same host.
/// </summary>
public static class X402Host
{
    /// <summary>The command-line flag selecting stdio.</summary>
    public const string StdioFlag = "--stdio";

    /// <summary>With <see cref="StdioFlag"/>: serve stdio as an Orleans client of the running Local silo instead of starting one.</summary>
    public const string ConnectFlag = "--connect";

    /// <summary>The default listening URL.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Streamable HTTP host (the default). <paramref name="configure"/> lets tests add configuration or services. Every host's
    /// content root is the program's folder, so its appsettings.json (log levels) is read however it is started — from another
    /// folder, by an MCP client, by dnx — not only by <c>dotnet run</c> in the project folder.
    /// </summary>
    public static WebApplication CreateWebApp(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = Strip(args), ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        configure?.Invoke(builder);
        builder.AddX402Prometheus();
        var settings = SiloHosting.ReadSettings(builder.Configuration);
        var urls = builder.Configuration["urls"];
        var guard = InstanceGuard.Enter(settings, string.IsNullOrWhiteSpace(urls) ? DefaultUrl : urls);
        builder.Services.AddSingleton(_ => guard);
        builder.UseOrleans(silo => SiloHosting.Configure(silo, settings, builder.Configuration));
        builder.Services.AddX402SiloPayments(builder.Configuration);
        builder.Services.AddX402ChannelRefunds(builder.Configuration);
        var hostMcp = settings.Cluster.HostMcp;
        if (hostMcp)
        {
            if (SiloPayments.StateFolder(settings) is { } stateFolder)
            {
                builder.Services.AddSingleton(_ => new DemoPaidStore(Path.Combine(stateFolder, DemoPaidStore.FileName)));
            }

            builder.Services.AddX402Gateway(builder.Configuration, GatewayTransport.Http);
            builder.Services.AddX402Console(builder.Configuration);
            builder.Services.AddHostedService<MembershipChangeWatcher>();
        }

        builder.AddX402SiloObservability();
        builder.Services.AddX402StorageHealthCheck(settings);
        var app = builder.Build();
        _ = app.Services.GetRequiredService<InstanceGuard>(); // owned (and released) by the host from here on
        app.MapX402Prometheus();
        if (hostMcp)
        {
            app.MapX402Console(); // before the gateway: its /console authentication and headers come first
            app.MapX402Gateway();
        }

        MapHealth(app);
        app.MapX402Health();
        return app;
    }

    /// <summary>stdio host for desktop MCP clients: logs go to stderr, stdout carries only the protocol.</summary>
    public static IHost CreateStdioHost(string[] args, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = Strip(args), ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        configure?.Invoke(builder);
        var settings = SiloHosting.ReadSettings(builder.Configuration);
        var guard = InstanceGuard.Enter(settings, urls: null);
        builder.Services.AddSingleton(_ => guard);
        builder.UseOrleans(silo => SiloHosting.Configure(silo, settings, builder.Configuration));
        builder.Services.AddX402SiloPayments(builder.Configuration);
        builder.Services.AddX402ChannelRefunds(builder.Configuration);
        builder.Services.AddX402Gateway(builder.Configuration, GatewayTransport.Stdio);
        builder.Services.AddHostedService<MembershipChangeWatcher>();
        builder.AddX402SiloObservability();
        var host = builder.Build();
        _ = host.Services.GetRequiredService<InstanceGuard>(); // owned (and released) by the host from here on
        _ = host.Services.GetRequiredService<IOptions<Gateway.Configuration.X402Options>>().Value;
        return host;
    }

    /// <summary>
    /// Checks, before the host serves, everything built from settings: the options (their validator names each bad setting)
    /// and the wallet. Throws <see cref="Abstractions.InvalidConfigurationException"/> or <see cref="OptionsValidationException"/>
    /// (see <see cref="ConfigurationGuard"/>).
    /// </summary>
    public static void Validate(IServiceProvider services)
    {
        ConfigurationGuard.ValidateOptions<Gateway.Configuration.X402Options>(services);
        _ = services.GetRequiredService<IPaymentSigner>();
    }

    /// <summary>
    /// stdio gateway joined to a running cluster (<c>--stdio --connect</c>): an Orleans client of the Local silo at
    /// 127.0.0.1:<c>X402:Cluster:GatewayPort</c> (AdoNet: of the cluster in PostgreSQL). It starts no silo and takes no state
    /// lock, so sessions are the running silo's own; the silo signs payments (this process needs no wallet key).
    /// </summary>
    public static IHost CreateStdioClientHost(string[] args, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = Strip(args), ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        configure?.Invoke(builder);
        var settings = SiloHosting.ReadSettings(builder.Configuration);
        builder.UseOrleansClient(client => ClientHosting.Configure(client, settings, X402Observability.TracingEnabled(builder.Configuration)));
        builder.Services.AddX402Gateway(builder.Configuration, GatewayTransport.Stdio);
        builder.AddX402Observability();
        var host = builder.Build();
        _ = host.Services.GetRequiredService<IOptions<Gateway.Configuration.X402Options>>().Value;
        return host;
    }

    /// <summary><c>/healthz</c>: 503 until the silo (and everything else in the process) has started, then 200 with the silo's address.</summary>
    private static void MapHealth(WebApplication app)
    {
        app.MapGet("/healthz", (IHostApplicationLifetime lifetime, ILocalSiloDetails silo, X402ClusterSettings settings) =>
            lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested
                ? Results.Ok(new { status = "ok", role = settings.Cluster.HostMcp ? "silo+gateway" : "silo", mode = settings.Cluster.Mode, silo = silo.SiloAddress.ToString() })
                : Results.Json(new { status = "starting" }, statusCode: StatusCodes.Status503ServiceUnavailable));
    }

    private static string[] Strip(string[] args) => [.. args.Where(a => a is not StdioFlag and not ConnectFlag)];
}
