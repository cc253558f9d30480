using X402Orleans.Silo;

// One process: an Orleans silo co-hosting the MCP gateway (Streamable HTTP at /mcp, or stdio with --stdio).
if (args.Contains(X402Host.StdioFlag, StringComparer.Ordinal))
{
    await X402Host.CreateStdioHost(args).RunAsync();
}
else
{
    await X402Host.CreateWebApp(args).RunAsync();
}
