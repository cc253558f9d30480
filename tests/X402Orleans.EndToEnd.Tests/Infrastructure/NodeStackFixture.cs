using ModelContextProtocol.Client;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One stack of Node processes (<typeparamref name="TStack"/>) and one embedded host paying with the stack's first funded wallet,
/// shared by the tests of a collection, which run one after another so balance deltas are exact.
/// </summary>
public abstract class NodeStackFixture<TStack> : IAsyncLifetime
    where TStack : NodeStack
{
    private TStack? _stack;
    private EmbeddedGateway? _gateway;
    private McpClient? _client;

    /// <summary>The stack.</summary>
    public TStack Stack => _stack ?? throw new InvalidOperationException("not started");

    /// <summary>The embedded host (wallet: the first funded wallet).</summary>
    public EmbeddedGateway Gateway => _gateway ?? throw new InvalidOperationException("not started");

    /// <summary>A C# MCP client connected to <see cref="Gateway"/>.</summary>
    public McpClient Client => _client ?? throw new InvalidOperationException("not started");

    /// <summary>The wallet the embedded host pays with.</summary>
    public Wallet Payer => Stack.FundedWallets[0];

    /// <summary>Whether the host reads the stack's chain (<c>X402:Payments:Rpc:0</c>).</summary>
    protected virtual bool WithRpc => false;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _stack = await StartStackAsync();
        _gateway = await EmbeddedGateway.StartAsync(_stack, _stack.FundedWallets[0], withRpc: WithRpc);
        _client = await _gateway.ConnectAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    /// <summary>Starts the stack.</summary>
    protected abstract Task<TStack> StartStackAsync();
}
