namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One <see cref="BatchStack"/> (anvil, our batch-settlement contracts, the official facilitator and batch-settlement server) and one
/// embedded host paying with its first funded wallet and reading the chain (<c>X402:Payments:Rpc:0</c> = anvil), shared by the tests
/// of the <see cref="BatchStackCollection"/>, which run one after another so balance deltas are exact. Every wallet pays through
/// its own channel (the channel is per wallet, agent and payee), so each test that needs a fresh channel uses its own wallet.
/// </summary>
public sealed class BatchStackFixture : NodeStackFixture<BatchStack>
{
    /// <summary>Funded payers: [0] the shared host, the rest one per test that needs its own channel.</summary>
    public const int FundedWallets = 8;

    /// <summary><c>metered</c>'s maxTimeoutSeconds: long enough for a deposit (its authorization must stay valid 6 s), short lease.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    protected override bool WithRpc => true;

    /// <inheritdoc />
    protected override Task<BatchStack> StartStackAsync() => BatchStack.StartAsync(FundedWallets, Timeout);
}

/// <summary>The batch-settlement end-to-end tests share one stack and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BatchStackCollection : ICollectionFixture<BatchStackFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "official batch-settlement stack on anvil";
}
