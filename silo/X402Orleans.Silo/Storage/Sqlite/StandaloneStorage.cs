using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using X402Orleans.Grains.Storage;

namespace X402Orleans.Silo.Storage.Sqlite;

/// <summary>
/// The Local-mode storage providers outside a silo, for tools, tests and the storage benchmark: the group-committed SQLite
/// providers and, for comparison and compatibility checks, Orleans' own ADO.NET providers on the same kind of file (started
/// through their silo lifecycle hook, as a silo would). The schema must already be applied (<see cref="SchemaScripts.ApplySqliteAsync"/>).
/// </summary>
public sealed class StandaloneStorage : IAsyncDisposable
{
    private const string AdoNetName = "standalone-adonet";
    private readonly ServiceProvider _services;

    private StandaloneStorage(ServiceProvider services, string connectionString, string serviceId)
    {
        _services = services;
        ConnectionString = connectionString;
        ServiceId = serviceId;
    }

    /// <summary>The SQLite connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>The Orleans service id the rows belong to.</summary>
    public string ServiceId { get; }

    /// <summary>Creates activators and serializers for the SQLite file <paramref name="path"/> and the service <paramref name="serviceId"/>.</summary>
    public static StandaloneStorage For(string path, string serviceId)
    {
        var connectionString = SchemaScripts.SqliteConnectionString(path);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSerializer();
        services.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = serviceId;
            o.ClusterId = "standalone";
        });
        services.AddAdoNetGrainStorage(AdoNetName, o =>
        {
            o.Invariant = SiloHosting.SqliteInvariant;
            o.ConnectionString = connectionString;
            o.GrainStorageSerializer = new StateJsonSerializer();
            o.DeleteStateOnClear = true;
        });
        services.UseAdoNetReminderService(o => o.Configure(r =>
        {
            r.Invariant = SiloHosting.SqliteInvariant;
            r.ConnectionString = connectionString;
        }));
        return new StandaloneStorage(services.BuildServiceProvider(), connectionString, serviceId);
    }

    /// <summary>A new group-commit writer on the file (dispose it to stop it).</summary>
    public SqliteWriter CreateWriter(int maxBatch = SqliteWriter.DefaultMaxBatch, long journalSizeLimitBytes = SqliteWriter.DefaultJournalSizeLimitBytes) =>
        new(ConnectionString, NullLogger<SqliteWriter>.Instance, maxBatch, journalSizeLimitBytes: journalSizeLimitBytes);

    /// <summary>The group-committed grain storage on <paramref name="writer"/> (JSON state, as in the silo).</summary>
    public SqliteGrainStorage CreateGrainStorage(SqliteWriter writer) =>
        new(writer, ServiceId, new StateJsonSerializer(), _services.GetRequiredService<IActivatorProvider>());

    /// <summary>The group-committed reminder table on <paramref name="writer"/>.</summary>
    public SqliteReminderTable CreateReminderTable(SqliteWriter writer) => new(writer, ServiceId);

    /// <summary>Orleans' <c>AdoNetGrainStorage</c> on the file (one autocommit statement per write), started.</summary>
    public async Task<IGrainStorage> StartAdoNetGrainStorageAsync(CancellationToken cancellationToken)
    {
        var storage = _services.GetRequiredKeyedService<IGrainStorage>(AdoNetName);
        var lifecycle = new StartOnlyLifecycle();
        ((ILifecycleParticipant<ISiloLifecycle>)storage).Participate(lifecycle);
        await lifecycle.StartAsync(cancellationToken);
        return storage;
    }

    /// <summary>Orleans' ADO.NET reminder table on the file, started.</summary>
    public async Task<IReminderTable> StartAdoNetReminderTableAsync(CancellationToken cancellationToken)
    {
        var table = _services.GetRequiredService<IReminderTable>();
        await table.StartAsync(cancellationToken);
        return table;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _services.DisposeAsync();

    /// <summary>Collects lifecycle observers and starts them in stage order.</summary>
    private sealed class StartOnlyLifecycle : ISiloLifecycle
    {
        private readonly List<(int Stage, ILifecycleObserver Observer)> _observers = [];

        public int HighestCompletedStage { get; private set; } = int.MinValue;

        public int LowestStoppedStage => int.MaxValue;

        public IDisposable Subscribe(string observerName, int stage, ILifecycleObserver observer)
        {
            _observers.Add((stage, observer));
            return new Unsubscriber();
        }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var (stage, observer) in _observers.OrderBy(o => o.Stage))
            {
                await observer.OnStart(cancellationToken);
                HighestCompletedStage = stage;
            }
        }

        private sealed class Unsubscriber : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
