using ModelContextProtocol.Client;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One x402 stack (chain, official facilitator, official servers) and one embedded host paying with the first funded wallet, shared
/// by every test of the <see cref="StackCollection"/>. Tests use their own path namespace (<see cref="NewNamespace"/>) so that the
/// servers' memory of who paid for what never leaks between them, and they run one after another so balance deltas are exact.
/// </summary>
public sealed class StackFixture : IAsyncLifetime
{
    private X402Stack? _stack;
    private EmbeddedGateway? _gateway;
    private McpClient? _client;

    /// <summary>The x402 stack.</summary>
    public X402Stack Stack => _stack ?? throw new InvalidOperationException("not started");

    /// <summary>The embedded host (wallet: the first funded wallet).</summary>
    public EmbeddedGateway Gateway => _gateway ?? throw new InvalidOperationException("not started");

    /// <summary>A C# MCP client connected to <see cref="Gateway"/>.</summary>
    public McpClient Client => _client ?? throw new InvalidOperationException("not started");

    /// <summary>The wallet the embedded host pays with.</summary>
    public Wallet Payer => Stack.FundedWallets[0];

    /// <summary>A fresh path segment for one test.</summary>
    public static string NewNamespace() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _stack = await X402Stack.StartAsync();
        _gateway = await EmbeddedGateway.StartAsync(_stack, _stack.FundedWallets[0]);
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
}

/// <summary>All end-to-end tests share one stack and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "x402 stack on a local chain";
}
