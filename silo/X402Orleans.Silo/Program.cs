using X402Orleans.Hosting;
using X402Orleans.Silo;

// One process: an Orleans silo co-hosting the MCP gateway (Streamable HTTP at /mcp, or stdio with --stdio; with --stdio --connect
// a stdio gateway of the running silo). An invalid setting stops it before it serves: exit code 2 and one line on stderr naming
// the setting; so does a state file or port another instance holds. `migrate` applies the storage schema and exits.
if (args.Length > 0 && args[0] == Migration.Command)
{
    return await Migration.RunAsync(args[1..]);
}

try
{
    if (args.Contains(X402Host.StdioFlag, StringComparer.Ordinal) && args.Contains(X402Host.ConnectFlag, StringComparer.Ordinal))
    {
        // stdio gateway of the running Local silo: no second silo, no second state, no key.
        return await ConfigurationGuard.RunAsync(() => X402Host.CreateStdioClientHost(args), ConfigurationGuard.ValidateOptions<X402Orleans.Gateway.Configuration.X402Options>);
    }

    return args.Contains(X402Host.StdioFlag, StringComparer.Ordinal)
        ? await ConfigurationGuard.RunAsync(() => X402Host.CreateStdioHost(args), X402Host.Validate)
        : await ConfigurationGuard.RunAsync(() => X402Host.CreateWebApp(args), X402Host.Validate);
}
catch (InstanceConflictException ex)
{
    // Another instance holds the state file or a port: one line, before anything started.
    await Console.Error.WriteLineAsync("x402orleans: " + ex.Message);
    return 2;
}
