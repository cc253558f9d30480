using X402Orleans.Gateway;
using X402Orleans.Silo;

// One process: an Orleans silo co-hosting the MCP gateway (Streamable HTTP at /mcp, or stdio with --stdio).
var stdio = args.Contains("--stdio", StringComparer.Ordinal);
var cleanArgs = args.Where(a => a != "--stdio").ToArray();

if (stdio)
{
    var builder = Host.CreateApplicationBuilder(cleanArgs);
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    var cluster = SiloHosting.ReadClusterOptions(builder.Configuration);
    builder.UseOrleans(silo => SiloHosting.Configure(silo, cluster));
    builder.Services.AddX402Gateway(builder.Configuration, GatewayTransport.Stdio);
    await builder.Build().RunAsync();
}
else
{
    var builder = WebApplication.CreateBuilder(cleanArgs);
    if (string.IsNullOrEmpty(builder.Configuration["urls"]))
    {
        builder.WebHost.UseUrls("http://127.0.0.1:5080");
    }

    var cluster = SiloHosting.ReadClusterOptions(builder.Configuration);
    builder.UseOrleans(silo => SiloHosting.Configure(silo, cluster));
    builder.Services.AddX402Gateway(builder.Configuration, GatewayTransport.Http);
    var app = builder.Build();
    app.MapX402Gateway();
    await app.RunAsync();
}

/// <summary>Entry point (public for test hosts).</summary>
public partial class Program;
