using ModelContextProtocol.Client;

namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One <see cref="UptoStack"/> (anvil, Permit2, our upto proxy, the official upto facilitator and server) and one embedded host
/// paying with its first funded wallet (Permit2 approved once) and reading the chain (<c>X402:Payments:Rpc:0</c> = anvil), shared
/// by the tests of the <see cref="UptoStackCollection"/>, which run one after another so balance deltas are exact.
/// </summary>
public sealed class UptoStackFixture : IAsyncLifetime
{
    /// <summary>The <c>idle</c> route's permit lifetime: short, so a test can watch its reservation end.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(20);

    private UptoStack? _stack;
    private EmbeddedGateway? _gateway;
    private McpClient? _client;

    /// <summary>The upto stack.</summary>
    public UptoStack Stack => _stack ?? throw new InvalidOperationException("not started");

    /// <summary>The embedded host (wallet: the first funded wallet).</summary>
    public EmbeddedGateway Gateway => _gateway ?? throw new InvalidOperationException("not started");

    /// <summary>A C# MCP client connected to <see cref="Gateway"/>.</summary>
    public McpClient Client => _client ?? throw new InvalidOperationException("not started");

    /// <summary>The wallet the embedded host pays with.</summary>
    public Wallet Payer => Stack.FundedWallets[0];

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _stack = await UptoStack.StartAsync(IdleTimeout);
        _gateway = await EmbeddedGateway.StartAsync(_stack, _stack.FundedWallets[0], withRpc: true);
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

/// <summary>The upto end-to-end tests share one upto stack and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class UptoStackCollection : ICollectionFixture<UptoStackFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "official upto stack on anvil";
}
