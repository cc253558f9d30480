using X402Orleans.Silo;

// One process: an Orleans silo co-hosting the MCP gateway (Streamable HTTP at /mcp, or stdio with --stdio).
try
{
    if (args.Contains(X402Host.StdioFlag, StringComparer.Ordinal) && args.Contains(X402Host.ConnectFlag, StringComparer.Ordinal))
    {
        // stdio gateway of the running Local silo: no second silo, no second state.
        await X402Host.CreateStdioClientHost(args).RunAsync();
    }
    else if (args.Contains(X402Host.StdioFlag, StringComparer.Ordinal))
    {
        await X402Host.CreateStdioHost(args).RunAsync();
    }
    else
    {
        await X402Host.CreateWebApp(args).RunAsync();
    }
}
catch (InstanceConflictException ex)
{
    // Another instance holds the state file or a port: one line, before anything started.
    await Console.Error.WriteLineAsync("x402orleans: " + ex.Message);
    return 2;
}

return 0;
