using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using X402Orleans.Abstractions;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using X402Orleans.Grains;
using X402Orleans.Gateway.Observability;
using X402Orleans.Grains.Storage;
using X402Orleans.Hosting;
using X402Orleans.Silo.Storage;
using X402Orleans.Silo.Storage.Sqlite;

namespace X402Orleans.Silo;

/// <summary>Configures the Orleans silo for the chosen mode (<c>X402:Cluster:Mode</c>).</summary>
public static class SiloHosting
{
    /// <summary>The Orleans ADO.NET invariant for SQLite (it loads Microsoft.Data.Sqlite).</summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    private const string AdoNetStoreName = "x402-adonet";

    /// <summary>Grain addresses a silo caches (Orleans' default is 1 000 000; see where it is set).</summary>
    internal const int DirectoryCacheSize = 100_000;

    /// <summary>Reads and validates the hosting settings; throws naming every setting to fix.</summary>
    public static X402ClusterSettings ReadSettings(IConfiguration configuration) => X402ClusterSettings.Read(configuration);

    /// <summary>
    /// Local: localhost clustering; grain state and reminders in the SQLite file <c>X402:Storage:Path</c> (or in memory for
    /// <c>:memory:</c>). AdoNet: PostgreSQL clustering, grain state and reminders, endpoints and failure detection from
    /// <c>X402:Cluster</c>. Both: versioned JSON state, session expiry/purge reminders, database errors made serializable.
    /// </summary>
    public static void Configure(ISiloBuilder silo, X402ClusterSettings settings, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(settings);
        var cluster = settings.Cluster;
        var lifecycle = ReadLifecycle(configuration);
        var serializer = new StateJsonSerializer();

        silo.Services.TryAddKeyedSingleton(Grains.TimeProviderNames.Grains, TimeProvider.System);
        silo.Services.AddKeyedSingleton<TimeProvider>(Orleans.Runtime.TimeProviderNames.Membership, new ProcessRelativeTimeProvider());
        silo.Services.AddSingleton(settings);
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, StorageStartup>();
        silo.Services.AddOptions<SessionLifecycleOptions>().Configure(o =>
        {
            o.Retention = lifecycle.Retention;
            o.ReminderPeriod = lifecycle.ReminderPeriod;
        });
        silo.Configure<ReminderOptions>(o =>
        {
            if (lifecycle.ReminderPeriod < o.MinimumReminderPeriod)
            {
                o.MinimumReminderPeriod = lifecycle.ReminderPeriod;
            }
        });
        silo.Configure<GrainCollectionOptions>(o =>
        {
            // Idle sessions leave memory after their own age. The collector looks four times per that age, so an idle session
            // stays at most a quarter of the age beyond it: live activations ≈ creation rate × 1.25 × age, their memory bounded.
            o.ClassSpecificCollectionAge[typeof(SessionGrain).FullName!] = lifecycle.IdleCollectionAge;
            var quantum = TimeSpan.FromSeconds(Math.Max(1, lifecycle.IdleCollectionAge.TotalSeconds / 4));
            if (quantum < o.CollectionQuantum)
            {
                o.CollectionQuantum = quantum;
            }

            ConfigureActivationShedding(o, cluster.ActivationMemoryLimitMB, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        });
        silo.Configure<GrainDirectoryOptions>(o =>
        {
            // The directory cache keeps the address of every grain this silo called, also after its activation was collected
            // (the entry is only dropped when a call finds it stale). At Orleans' default of a million entries that is ~250 B
            // per session ever touched, kept: a million sessions held ~250 MB there. A tenth covers the sessions in use.
            o.CacheSize = Math.Min(o.CacheSize, DirectoryCacheSize);
        });
        if (cluster.ActivationMemoryLimitMB > 0)
        {
            var limitBytes = cluster.ActivationMemoryLimitMB * 1024L * 1024L;
            silo.Services.AddHostedService(sp => new ActivationMemoryCollector(
                limitBytes, sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<ActivationMemoryCollector>>()));
        }

        silo.AddIncomingGrainCallFilter<StorageExceptionFilter>();
        silo.AddX402FleetControls();
        silo.AddX402Dashboard(configuration);

        if (cluster.IsAdoNet)
        {
            var connectionString = settings.PostgresConnectionString!;
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (IPAddress.TryParse(cluster.AdvertisedHost, out var ip))
            {
                silo.ConfigureEndpoints(ip, cluster.SiloPort, cluster.GatewayPort, cluster.ListenOnAnyAddress);
            }
            else
            {
                silo.ConfigureEndpoints(cluster.AdvertisedHost, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: cluster.ListenOnAnyAddress);
            }

            silo.Configure<ClusterMembershipOptions>(o => ConfigureFailureDetection(o, cluster));
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = X402ClusterSettings.PostgresInvariant;
                o.ConnectionString = connectionString;
            });
            AddGuardedAdoNetStorage(silo, X402ClusterSettings.PostgresInvariant, connectionString, serializer);
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = X402ClusterSettings.PostgresInvariant;
                o.ConnectionString = connectionString;
            });
            return;
        }

        silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
        if (settings.Storage.IsInMemory)
        {
            silo.AddMemoryGrainStorage(StorageNames.Sessions, o => o.GrainStorageSerializer = serializer);
            silo.UseInMemoryReminderService();
            return;
        }

        AddGroupCommitSqlite(silo, SchemaScripts.SqliteConnectionString(settings.Storage.ResolvedPath), serializer, settings.Storage.FsyncEveryCommit);
    }

    /// <summary>
    /// Bounds live activations by memory (<c>X402:Cluster:ActivationMemoryLimitMB</c>; 0: off). Orleans' shedding compares the
    /// GC's committed bytes less fragmentation with the memory available to the process (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>:
    /// physical RAM, or the container's or GC heap hard limit) and, after a gen-2 collection finds it above its limit percentage,
    /// deactivates the activations that are due for idle collection first, enough to get back to its target percentage. A
    /// percentage means a different amount on every machine, so the setting is in MiB and turned into the percentages here
    /// (capped at 95 % of what is available).
    /// </summary>
    public static void ConfigureActivationShedding(GrainCollectionOptions options, int limitMb, long availableBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (limitMb <= 0 || availableBytes <= 0)
        {
            options.EnableActivationSheddingOnMemoryPressure = false;
            return;
        }

        var limitPercent = Math.Min(95.0, limitMb * 1024.0 * 1024.0 * 100.0 / availableBytes);
        options.EnableActivationSheddingOnMemoryPressure = true;
        options.MemoryUsageLimitPercentage = limitPercent;
        options.MemoryUsageTargetPercentage = limitPercent * X402ClusterOptions.ActivationMemoryTargetFraction;
    }

    /// <summary>
    /// Failure detection, tuned so a dead silo is declared dead in seconds: every silo probes its peers; a silo that misses
    /// <c>MissedProbesLimit</c> probes of <c>ProbeTimeoutSeconds</c> each is suspected, and <c>VotesForDeathDeclaration</c>
    /// suspicions (at most half the live silos) declare it dead in the membership table. A killed process refuses
    /// connections at once, so detection takes about ProbeTimeout × MissedProbesLimit (6 s by default, Orleans' own 15 s).
    /// Rows that stop being refreshed for 3 × <c>IAmAliveSeconds</c> are ignored by joining silos.
    /// </summary>
    public static void ConfigureFailureDetection(ClusterMembershipOptions options, X402ClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cluster);
        options.ProbeTimeout = TimeSpan.FromSeconds(cluster.ProbeTimeoutSeconds);
        options.NumMissedProbesLimit = cluster.MissedProbesLimit;
        options.NumVotesForDeathDeclaration = cluster.VotesForDeathDeclaration;
        options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(cluster.IAmAliveSeconds);
        options.NumMissedTableIAmAliveLimit = 3;
        options.TableRefreshTimeout = TimeSpan.FromSeconds(Math.Max(5, cluster.IAmAliveSeconds * 2));
        options.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(Math.Max(30, cluster.ProbeTimeoutSeconds * cluster.MissedProbesLimit * 4));
    }

    /// <summary>
    /// Local mode on a file: grain state and reminders through one group-committed SQLite writer (<see cref="SqliteWriter"/>:
    /// WAL, one transaction per batch of queued writes, synchronous per <c>X402:Storage:Synchronous</c>), same tables and rows as
    /// the ADO.NET providers.
    /// </summary>
    private static void AddGroupCommitSqlite(ISiloBuilder silo, string connectionString, StateJsonSerializer serializer, bool fsyncEveryCommit)
    {
        silo.Services.AddSingleton(sp => new SqliteWriter(connectionString, sp.GetRequiredService<ILogger<SqliteWriter>>(), fsyncEveryCommit: fsyncEveryCommit));
        silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Sessions, (sp, _) => new GuardedGrainStorage(
            new SqliteGrainStorage(
                sp.GetRequiredService<SqliteWriter>(),
                sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                serializer,
                sp.GetRequiredService<IActivatorProvider>()),
            sp.GetRequiredService<ILogger<GuardedGrainStorage>>()));
        silo.Services.AddSingleton<IReminderTable, SqliteReminderTable>();
        silo.AddReminders();
    }

    private static void AddGuardedAdoNetStorage(ISiloBuilder silo, string invariant, string connectionString, StateJsonSerializer serializer)
    {
        silo.AddAdoNetGrainStorage(AdoNetStoreName, o =>
        {
            o.Invariant = invariant;
            o.ConnectionString = connectionString;
            o.GrainStorageSerializer = serializer;
            o.DeleteStateOnClear = true;
        });
        silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Sessions, static (sp, _) => new GuardedGrainStorage(
            sp.GetRequiredKeyedService<IGrainStorage>(AdoNetStoreName),
            sp.GetRequiredService<ILogger<GuardedGrainStorage>>()));
    }

    private static SessionLifecycleOptions ReadLifecycle(IConfiguration configuration)
    {
        var retention = ReadSeconds(configuration, "X402:Sessions:RetentionSeconds", TimeSpan.FromDays(7), TimeSpan.Zero, TimeSpan.FromDays(3650));
        var period = ReadSeconds(configuration, "X402:Sessions:ReminderPeriodSeconds", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var idle = ReadSeconds(configuration, "X402:Sessions:IdleCollectionSeconds", new SessionLifecycleOptions().IdleCollectionAge, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        return new SessionLifecycleOptions { Retention = retention, ReminderPeriod = period, IdleCollectionAge = idle };
    }

    private static TimeSpan ReadSeconds(IConfiguration configuration, string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        var text = configuration?[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || double.IsNaN(seconds)
            || seconds < min.TotalSeconds || seconds > max.TotalSeconds)
        {
            throw new InvalidConfigurationException($"{key} must be a number of seconds between {min.TotalSeconds.ToString(CultureInfo.InvariantCulture)} and {max.TotalSeconds.ToString(CultureInfo.InvariantCulture)} (got '{text}')");
        }

        return TimeSpan.FromSeconds(seconds);
    }
}
