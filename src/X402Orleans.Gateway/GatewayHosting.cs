using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Auth;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Demo;
using X402Orleans.Gateway.Http;
using X402Orleans.Gateway.Observability;
using X402Orleans.Gateway.Security;
using X402Orleans.Gateway.Sessions;
using X402Orleans.Gateway.Tools;

namespace X402Orleans.Gateway;

/// <summary>How the MCP gateway is exposed.</summary>
public enum GatewayTransport
{
    /// <summary>Streamable HTTP at <c>/mcp</c> (stateless), with API-key authentication.</summary>
    Http,

    /// <summary>stdio for desktop MCP clients; the process owner is the anonymous agent.</summary>
    Stdio,
}

/// <summary>Registers and maps the gateway: options, wallet, outbound HTTP, session service, MCP tools, auth, demo paywall.</summary>
public static partial class GatewayHosting
{
    /// <summary>The version the server reports (read once: stateless HTTP mode builds the server options for every request).</summary>
    private static readonly string ServerVersion = typeof(GatewayHosting).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";

    /// <summary>Adds the gateway's services. Needs an <see cref="IGrainFactory"/> (co-hosted silo or Orleans client).</summary>
    public static IServiceCollection AddX402Gateway(this IServiceCollection services, IConfiguration configuration, GatewayTransport transport)
    {
        services.AddX402Options(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddX402Exchange();
        services.AddSingleton<ClusterChangeSignal>();
        services.AddSingleton<IClusterConnectionStatusObserver, GatewayConnectionObserver>();
        services.AddSingleton(sp => new SessionService(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<PaymentExchange>(), sp.GetRequiredService<ProofCache>(), sp.GetRequiredService<IOptions<X402Options>>(), sp.GetRequiredService<ClusterChangeSignal>(), sp.GetRequiredService<ILogger<SessionService>>(), sp.GetRequiredService<ChannelRefunds>(), sp.GetRequiredService<CallStatsRecorder>()));
        services.AddSingleton<CallStatsRecorder>();
        services.AddHostedService<CallStatsReporter>();
        services.AddSingleton<WalletService>();
        services.AddSingleton<ChannelWithdrawService>();
        services.AddSingleton<ToolRunner>();
        services.AddDemoPaywall();

        var mcp = services.AddMcpServer(o =>
        {
            o.ServerInfo = new Implementation { Name = "x402orleans", Title = "X402Orleans session gateway", Version = ServerVersion };
            o.ServerInstructions = "Pay-once sessions for x402 (HTTP 402) APIs. Start a session with x402_session_start on a paid endpoint, call it with x402_session_fetch (access is reused by sign-in-with-x), check with x402_session_status, end with x402_session_end. If a batch-settlement server stops cooperating, x402_channel_withdraw takes the channel's unclaimed money back on chain. Amounts are decimals in the asset's units, as strings (e.g. \"0.01\" USDC) or JSON numbers.";
        }).WithTools([typeof(SessionTools), typeof(WalletTools)]);
        if (configuration.GetValue<bool>(DiagnosticTools.NoopToolSetting))
        {
            mcp.WithTools([typeof(DiagnosticTools)]);
        }

        // Arguments are checked against the tool's schema before the SDK binds them: binding failures become clear isError results.
        mcp.WithRequestFilters(f => f.AddCallToolFilter(ToolArguments.Filter));
        services.PostConfigure<McpServerOptions>(ToolArguments.WidenAmountSchemas);

        if (transport == GatewayTransport.Stdio)
        {
            mcp.WithStdioServerTransport();
            services.AddSingleton<ICallerResolver>(new FixedCallerResolver(AgentIdentity.AnonymousAgentId));
        }
        else
        {
            mcp.WithHttpTransport(o => o.Stateless = true);
            services.AddHttpContextAccessor();
            services.AddSingleton<ICallerResolver, HttpCallerResolver>();
            services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
            services.AddAuthorization();
            services.AddX402ClusterKeyRing();
        }

        return services;
    }

    /// <summary>
    /// Adds the silo's channel refund service (<see cref="ChannelRefundService"/>): the cooperative refunds of sessions that expired or
    /// that an operator ended, run with this process's outbound HTTP. For silo hosts (with or without the MCP gateway); gateway-only
    /// processes do not need it.
    /// </summary>
    public static IServiceCollection AddX402ChannelRefunds(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddX402Options(configuration);
        services.AddX402Exchange();
        services.TryAddSingleton<ChannelRefundSignal>();
        services.AddHostedService<ChannelRefundService>();
        return services;
    }

    /// <summary>The payment exchange and what it sends with (once, however many parts of a process ask for it).</summary>
    private static void AddX402Exchange(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<OutboundPolicy>();
        services.TryAddSingleton<UpstreamHttp>();
        services.TryAddSingleton<ProofCache>();
        services.TryAddSingleton<PaymentExchange>();
        services.TryAddSingleton<ChannelRefunds>();
    }

    /// <summary>Binds and validates the <c>X402</c> section once, however many parts of a process ask for it.</summary>
    public static IServiceCollection AddX402Options(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(IValidateOptions<X402Options>)))
        {
            services.AddOptions<X402Options>().Bind(configuration.GetSection(X402Options.SectionName)).ValidateOnStart();
            services.AddSingleton<IValidateOptions<X402Options>, X402OptionsValidator>();
        }

        return services;
    }

    /// <summary>Maps <c>/mcp</c> (authenticated) and, when enabled, the demo paywall under <c>/demo/</c>.</summary>
    public static WebApplication MapX402Gateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<X402Options>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("X402Orleans.Gateway");
        if (options.Agents.Count == 0)
        {
            app.UseWhen(c => c.Request.Path.StartsWithSegments("/mcp", StringComparison.OrdinalIgnoreCase), mcp => mcp.Use(LoopbackHostFilter.InvokeAsync));
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMcp("/mcp").RequireAuthorization();
        if (options.Demo.Enabled)
        {
            DemoPaywall.Map(app);
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var metricsPort = PrometheusEndpoint.OwnPort(app.Services);
            foreach (var address in addresses)
            {
                if (Uri.TryCreate(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Port != metricsPort)
                {
                    if (options.Demo.Enabled)
                    {
                        // The demo paywall is on this process's own loopback origin: allow exactly that target.
                        var policy = app.Services.GetRequiredService<OutboundPolicy>();
                        policy.AllowEndpoint(uri.Host, uri.Port);
                        policy.AllowEndpoint("localhost", uri.Port);
                        policy.AllowEndpoint("127.0.0.1", uri.Port);
                    }

                    Log.Listening(logger, $"{uri.GetLeftPart(UriPartial.Authority)}/mcp", options.Demo.Enabled ? $"{uri.GetLeftPart(UriPartial.Authority)}/demo/weather" : "off");
                }
            }

            if (options.Agents.Count == 0)
            {
                Log.Anonymous(logger);
            }
        });
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(400, LogLevel.Information, "MCP gateway listening at {McpUrl} (demo paywall: {DemoUrl})")]
        public static partial void Listening(ILogger logger, string mcpUrl, string demoUrl);

        [LoggerMessage(401, LogLevel.Warning, "No agents configured (X402__Agents__0__Id / X402__Agents__0__ApiKey): serving one anonymous agent, to loopback callers only")]
        public static partial void Anonymous(ILogger logger);
    }
}
