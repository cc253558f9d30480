using ModelContextProtocol.Client;
using X402Orleans.Abstractions;
using X402Orleans.Testing;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Our host as a child process (<c>dotnet X402Orleans.Silo.dll</c>, the one-command Local mode: silo + MCP gateway, grain state in
/// a SQLite file), on free loopback ports, configured like <see cref="EmbeddedGateway"/> (the stack's token and network, loopback
/// targets allowed, one agent with <see cref="EmbeddedGateway.ApiKey"/>). Optionally armed to crash at a fault point
/// (<see cref="FaultInjection"/>). Disposing kills whatever still runs.
/// </summary>
public sealed class ChildHost : IAsyncDisposable
{
    private static readonly TimeSpan HealthyWithin = TimeSpan.FromSeconds(60);

    private ChildHost(NodeProcess process) => Process = process;

    /// <summary>The process.</summary>
    public NodeProcess Process { get; }

    /// <summary>Streamable HTTP endpoint.</summary>
    public Uri McpUri => new(Process.BaseUri, "/mcp");

    /// <summary>
    /// Starts a host on <paramref name="stateFile"/> paying with <paramref name="wallet"/> and waits until it is healthy.
    /// <paramref name="crashAt"/> arms <c>X402_FAULT_CRASH_AT</c> (null: unarmed); <paramref name="withRpc"/> adds the optional
    /// <c>X402:Payments:Rpc:0</c> setting (the stack's network and the local chain's JSON-RPC URL).
    /// </summary>
    public static async Task<ChildHost> StartAsync(NodeStack stack, Wallet wallet, string stateFile, string logFolder, string name, string? crashAt, bool withRpc, IReadOnlyDictionary<string, string>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        Exception? last = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var ports = FreePorts.Take(3);
            var environment = EmbeddedGateway.PaymentSettings(stack, wallet, ports[1], ports[2], withRpc)
                .ToDictionary(kv => kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value);
            environment["X402__Storage__Path"] = stateFile;
            environment["X402__Agents__0__Id"] = EmbeddedGateway.AgentId;
            environment["X402__Agents__0__ApiKey"] = EmbeddedGateway.ApiKey;
            if (crashAt is not null)
            {
                environment[FaultInjection.Variable] = crashAt;
            }

            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                environment[key] = value;
            }

            var process = NodeProcess.Start(name, Prerequisites.SiloDll, ports[0], environment, logFolder);
            try
            {
                await process.WaitHealthyAsync(HealthyWithin);
                return new ChildHost(process);
            }
            catch (InvalidOperationException ex)
            {
                // exited before it was healthy (e.g. a port taken meanwhile): once more on other ports
                last = ex;
                await process.DisposeAsync();
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }

        throw new InvalidOperationException($"{name} did not start", last);
    }

    /// <summary>A C# MCP client over Streamable HTTP with the agent's key.</summary>
    public Task<McpClient> ConnectAsync() => McpTools.ConnectAsync(McpUri, EmbeddedGateway.ApiKey, "x402orleans-faults");

    /// <summary>Everything the process printed so far.</summary>
    public string Log()
    {
        using var stream = new FileStream(Process.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>SIGTERM, then a bounded wait for a graceful exit.</summary>
    public Task StopAsync() => Process.StopAsync(TimeSpan.FromSeconds(30));

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
