namespace X402Orleans.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One x402 stack (chain, official facilitator, official servers) and one embedded host paying with the first funded wallet, shared
/// by every test of the <see cref="StackCollection"/>. Tests use their own path namespace (<see cref="NewNamespace"/>) so that the
/// servers' memory of who paid for what never leaks between them, and they run one after another so balance deltas are exact.
/// </summary>
public sealed class StackFixture : NodeStackFixture<X402Stack>
{
    /// <summary>A fresh path segment for one test.</summary>
    public static string NewNamespace() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <inheritdoc />
    protected override Task<X402Stack> StartStackAsync() => X402Stack.StartAsync();
}

/// <summary>All end-to-end tests share one stack and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "x402 stack on a local chain";
}
