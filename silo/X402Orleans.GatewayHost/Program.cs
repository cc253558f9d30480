using X402Orleans.GatewayHost;

// A standalone gateway process: an Orleans client of the cluster serving the MCP tools (Streamable HTTP at /mcp).
await GatewayProcess.CreateWebApp(args).RunAsync();
