using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using Orleans.Storage;
using X402Orleans.Grains;
using X402Orleans.Grains.Payments;
using X402Orleans.Grains.Storage;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// What a test cluster shares with its tests: the fake clock (registered for the session grain's clock key and for the
/// Orleans grain-timer clock key, so it drives both the grain's clock checks and its expiry timer) and the grains' log lines.
/// The silo runs in-process, so the silo configurator (created by type) and the tests reach the same instances through
/// <see cref="SharedClusterServices"/>.
/// </summary>
public sealed class ClusterServices
{
    /// <summary>Fixed start, so times in assertions are exact.</summary>
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The grains' clock. Only ever moved by <see cref="FakeTimeProvider.Advance"/> from a test.</summary>
    public FakeTimeProvider Clock { get; } = new(Start);

    /// <summary>Log lines written by the grains (category <c>X402Orleans.*</c>).</summary>
    public LogSink Logs { get; } = new();

    /// <summary>Counts writes and entered calls per grain, and holds or fails chosen writes.</summary>
    public StorageProbe Probe { get; } = new();

    /// <summary>The silo's wallet (a throwaway key; only the silo holds it).</summary>
    public X402Orleans.Payments.Signing.LocalPrivateKeySigner Wallet { get; } = X402Orleans.Payments.Signing.LocalPrivateKeySigner.Generate();

    /// <summary>The silo's Permit2 token reads (the chain, faked): the allowance a test sets, null meaning the chain cannot tell.</summary>
    public FakePermit2Tokens Tokens { get; } = new();

    /// <summary>The silo's batch-settlement channel reads (the chain, faked): what a test sets per channel id, else unknown.</summary>
    public FakeChannelChain Channels { get; } = new();

    /// <summary>The payment rules the silo's grains read (the silo's own configuration); <see cref="UseRules"/> swaps them for one test.</summary>
    public PaymentRules Rules { get; private set; } = PaymentRules.Default;

    /// <summary>Makes the silo read <paramref name="rules"/> until the returned scope is disposed (tests of one cluster run one at a time).</summary>
    public IDisposable UseRules(PaymentRules rules)
    {
        Rules = rules;
        return new RulesScope(this);
    }

    private sealed class RulesScope(ClusterServices services) : IDisposable
    {
        public void Dispose() => services.Rules = PaymentRules.Default;
    }
}

/// <summary>A chain whose Permit2 allowance a test sets (used only where a silo has a node for the network).</summary>
public sealed class FakePermit2Tokens : X402Orleans.Payments.Evm.Upto.IPermit2TokenReader
{
    /// <summary>The payer's Permit2 allowance (null: unknown).</summary>
    public System.Numerics.BigInteger? Allowance { get; set; }

    /// <inheritdoc />
    public ValueTask<System.Numerics.BigInteger?> ReadPermit2AllowanceAsync(string network, string token, string owner, CancellationToken cancellationToken) => ValueTask.FromResult(Allowance);

    /// <inheritdoc />
    public ValueTask<System.Numerics.BigInteger> ReadPermitNonceAsync(string network, string token, string owner, CancellationToken cancellationToken) => ValueTask.FromResult(System.Numerics.BigInteger.Zero);
}

/// <summary>A chain whose batch-settlement channels say what a test set (<see cref="Set"/>); any other channel cannot be read.</summary>
public sealed class FakeChannelChain : X402Orleans.Grains.Payments.IChannelStateReader
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, X402Orleans.Grains.Payments.ChannelChainState> _channels = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Makes the chain show <paramref name="channel"/> for <paramref name="channelId"/>.</summary>
    public void Set(string channelId, X402Orleans.Grains.Payments.ChannelChainState channel) => _channels[channelId] = channel;

    /// <inheritdoc />
    public Task<X402Orleans.Grains.Payments.ChannelChainState> ReadChannelAsync(string network, string channelId, CancellationToken cancellationToken) =>
        Task.FromResult(_channels.TryGetValue(channelId, out var channel) ? channel : X402Orleans.Grains.Payments.ChannelChainState.Unknown);
}

/// <summary>One <see cref="ClusterServices"/> per test cluster.</summary>
public static class SharedClusterServices
{
    /// <summary>The cluster whose clock only moves by minutes; sessions there live for days.</summary>
    public static ClusterServices Sessions { get; } = new();

    /// <summary>The cluster whose clock is moved past sessions' expiry.</summary>
    public static ClusterServices Expiry { get; } = new();
}

/// <summary>
/// Silo set-up shared by both clusters: memory storage for the grains (behind the cluster's <see cref="StorageProbe"/>), the fake
/// grain clock, captured grain logs.
/// </summary>
public abstract class FakeClockSiloConfigurator : ISiloConfigurator
{
    private const string InnerStorage = "memory";

    /// <summary>The services of the cluster this configurator builds.</summary>
    public abstract ClusterServices Services { get; }

    /// <inheritdoc />
    public void Configure(ISiloBuilder siloBuilder)
    {
        ArgumentNullException.ThrowIfNull(siloBuilder);
        var services = Services;
        siloBuilder.AddMemoryGrainStorage(InnerStorage, o => o.GrainStorageSerializer = new StateJsonSerializer());
        siloBuilder.Services.AddKeyedSingleton<IGrainStorage>(
            StorageNames.Sessions,
            (provider, _) => new ProbedGrainStorage(provider.GetRequiredKeyedService<IGrainStorage>(InnerStorage), services.Probe));
        siloBuilder.AddIncomingGrainCallFilter(new EnteredCallFilter(services.Probe));

        // The session grain reads its clock under the project's own key, while Orleans drives grain timers (and
        // IGrainRuntime.TimeProvider) from its keyed "Orleans.Grains" clock: the keys differ, so the one fake is registered
        // under both, or Advance would move the grain's clock checks but never fire its expiry timer. Messaging, membership
        // and activation collection keep real time.
        siloBuilder.Services.AddKeyedSingleton<TimeProvider>(X402Orleans.Grains.TimeProviderNames.Grains, services.Clock);
        siloBuilder.Services.AddKeyedSingleton<TimeProvider>(Orleans.Runtime.TimeProviderNames.Grains, services.Clock);
        siloBuilder.Services.AddTransient(_ => services.Rules);
        siloBuilder.Services.AddSingleton<X402Orleans.Payments.Signing.IPaymentSigner>(services.Wallet);
        siloBuilder.Services.AddSingleton<X402Orleans.Payments.Evm.Upto.IPermit2TokenReader>(services.Tokens);
        siloBuilder.Services.AddSingleton<X402Orleans.Grains.Payments.IChannelStateReader>(services.Channels);
        siloBuilder.AddX402FleetControls();
        siloBuilder.Services.AddLogging(logging => logging
            .AddProvider(new CapturingLoggerProvider(services.Logs))
            .AddFilter<CapturingLoggerProvider>("X402Orleans", LogLevel.Information));
    }
}

/// <summary>Configures the <see cref="SharedClusterServices.Sessions"/> cluster.</summary>
public sealed class SessionsSiloConfigurator : FakeClockSiloConfigurator
{
    /// <inheritdoc />
    public override ClusterServices Services => SharedClusterServices.Sessions;
}

/// <summary>Configures the <see cref="SharedClusterServices.Expiry"/> cluster.</summary>
public sealed class ExpirySiloConfigurator : FakeClockSiloConfigurator
{
    /// <inheritdoc />
    public override ClusterServices Services => SharedClusterServices.Expiry;
}

/// <summary>A one-silo test cluster configured by <typeparamref name="TConfigurator"/>.</summary>
public abstract class ClusterFixture<TConfigurator> : IAsyncLifetime
    where TConfigurator : FakeClockSiloConfigurator, new()
{
    private TestCluster? _cluster;

    /// <summary>The running cluster.</summary>
    public TestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    /// <summary>Grain factory of the cluster's client.</summary>
    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>The silo's grain storage (stored JSON, as in production, behind the probe), for tests that read or write records directly.</summary>
    public IGrainStorage Storage =>
        (Cluster.Primary as InProcessSiloHandle ?? throw new InvalidOperationException("The silo is not in-process.")).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Sessions);

    /// <summary>The cluster's fake grain clock and captured logs.</summary>
    public ClusterServices Services { get; } = new TConfigurator().Services;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<TConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>The cluster for tests that move the clock by minutes at most (their sessions live for days).</summary>
public sealed class SessionsClusterFixture : ClusterFixture<SessionsSiloConfigurator>;

/// <summary>The cluster for tests that move the clock past expiry.</summary>
public sealed class ExpiryClusterFixture : ClusterFixture<ExpirySiloConfigurator>;

/// <summary>
/// Tests on the sessions cluster. One collection runs its tests one at a time, so forced activation collection and clock
/// moves in one test never overlap another test's steps.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SessionsClusterDefinition : ICollectionFixture<SessionsClusterFixture>
{
    /// <summary>Collection name.</summary>
    public const string Name = "Sessions cluster";
}

/// <summary>Tests on the expiry cluster (runs in parallel with the sessions cluster: separate silo, separate clock).</summary>
[CollectionDefinition(Name)]
public sealed class ExpiryClusterDefinition : ICollectionFixture<ExpiryClusterFixture>
{
    /// <summary>Collection name.</summary>
    public const string Name = "Expiry cluster";
}

/// <summary>A captured log line.</summary>
public sealed record LogLine(string Category, int EventId, string Message);

/// <summary>Collects log lines from the silo.</summary>
public sealed class LogSink
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    /// <summary>Adds a line.</summary>
    public void Add(LogLine line) => _lines.Enqueue(line);

    /// <summary>Lines with <paramref name="eventId"/> whose message mentions <paramref name="text"/>.</summary>
    public int Count(int eventId, string text) =>
        _lines.Count(l => l.EventId == eventId && l.Message.Contains(text, StringComparison.Ordinal));
}

/// <summary>An <see cref="ILoggerProvider"/> writing into a <see cref="LogSink"/>.</summary>
public sealed class CapturingLoggerProvider(LogSink sink) : ILoggerProvider
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(sink, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class CapturingLogger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            sink.Add(new LogLine(category, eventId.Id, formatter(state, exception)));
        }
    }
}
