using ModelContextProtocol.Client;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// One running host for the gateway test classes, with an MCP client per configured agent. Fixtures that need other settings
/// derive and override <see cref="Settings"/>.
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    private GatewayHost? _host;
    private McpClient? _agentA;
    private McpClient? _agentB;

    public GatewayHost Host => _host ?? throw new InvalidOperationException("The host is not started.");

    /// <summary>Client authenticated as agent A.</summary>
    public McpClient AgentA => _agentA ?? throw new InvalidOperationException("The host is not started.");

    /// <summary>Client authenticated as agent B.</summary>
    public McpClient AgentB => _agentB ?? throw new InvalidOperationException("The host is not started.");

    /// <summary>Settings on top of <see cref="GatewayHost"/>'s defaults (none).</summary>
    protected virtual IReadOnlyDictionary<string, string?>? Settings => null;

    public async Task InitializeAsync()
    {
        _host = await GatewayHost.StartAsync(Settings);
        _agentA = await _host.ConnectAsync(GatewayHost.AgentAKey);
        _agentB = await _host.ConnectAsync(GatewayHost.AgentBKey);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in new[] { _agentA, _agentB })
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

/// <summary>
/// The gateway test classes share one host and run one after another: the demo paywall's counters and its record of what this
/// wallet has paid are per host, so sequential runs keep the before/after counts exact.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "Gateway host";
}
