using X402Orleans.Silo;

// One process: an Orleans silo co-hosting the MCP gateway (Streamable HTTP at /mcp, or stdio with --stdio);
// `migrate` applies the storage schema of the configured mode and exits.
if (args.Length > 0 && args[0] == Migration.Command)
{
    return await Migration.RunAsync(args[1..]);
}

if (args.Contains(X402Host.StdioFlag, StringComparer.Ordinal))
{
    await X402Host.CreateStdioHost(args).RunAsync();
}
else
{
    await X402Host.CreateWebApp(args).RunAsync();
}

return 0;
