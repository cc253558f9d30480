using X402Orleans.StandaloneGateway;
using X402Orleans.Hosting;

// A standalone gateway process: an Orleans client of the cluster serving the MCP tools (Streamable HTTP at /mcp). An invalid
// setting stops it before it serves: exit code 2 and one line on stderr naming the setting.
return await ConfigurationGuard.RunAsync(() => GatewayProcess.CreateWebApp(args), GatewayProcess.Validate);
