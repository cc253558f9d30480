namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One <see cref="UptoStack"/> (anvil, Permit2, our upto proxy, the official upto facilitator and server) and one embedded host
/// paying with its first funded wallet (Permit2 approved once) and reading the chain (<c>X402:Payments:Rpc:0</c> = anvil), shared
/// by the tests of the <see cref="UptoStackCollection"/>, which run one after another so balance deltas are exact.
/// </summary>
public sealed class UptoStackFixture : NodeStackFixture<UptoStack>
{
    /// <summary>The <c>idle</c> route's permit lifetime: short, so a test can watch its reservation end.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(20);

    /// <inheritdoc />
    protected override bool WithRpc => true;

    /// <inheritdoc />
    protected override Task<UptoStack> StartStackAsync() => UptoStack.StartAsync(IdleTimeout);
}

/// <summary>The upto end-to-end tests share one upto stack and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class UptoStackCollection : ICollectionFixture<UptoStackFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "official upto stack on anvil";
}
