using X402Orleans.Hosting;
using X402Orleans.Silo;

// One process: an Orleans silo co-hosting the MCP gateway (Streamable HTTP at /mcp, or stdio with --stdio). An invalid setting
// stops it before it serves: exit code 2 and one line on stderr naming the setting. `migrate` applies the storage schema of the
// configured mode and exits.
if (args.Length > 0 && args[0] == Migration.Command)
{
    return await Migration.RunAsync(args[1..]);
}

return args.Contains(X402Host.StdioFlag, StringComparer.Ordinal)
    ? await ConfigurationGuard.RunAsync(() => X402Host.CreateStdioHost(args), X402Host.Validate)
    : await ConfigurationGuard.RunAsync(() => X402Host.CreateWebApp(args), X402Host.Validate);
