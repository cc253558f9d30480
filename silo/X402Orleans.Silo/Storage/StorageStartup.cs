using Microsoft.Extensions.Logging;
using Npgsql;
using X402Orleans.Hosting;

namespace X402Orleans.Silo.Storage;

/// <summary>
/// Runs first in the silo's start: Local mode creates the SQLite file's folder and applies the SQLite schema; AdoNet mode
/// optionally applies the PostgreSQL schema and refuses a connection pool that could take all of the server's connections.
/// </summary>
internal sealed partial class StorageStartup(X402ClusterSettings settings, ILogger<StorageStartup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(StorageStartup), ServiceLifecycleStage.First, StartAsync);
    }

    /// <summary>How long a silo that does not apply the schema waits for it.</summary>
    internal static readonly TimeSpan SchemaWait = TimeSpan.FromMinutes(2);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Cluster.IsAdoNet)
        {
            var connectionString = settings.PostgresConnectionString!;
            if (settings.Storage.ApplySchema)
            {
                await SchemaScripts.ApplyPostgresAsync(connectionString, cancellationToken);
                Log.SchemaApplied(logger, "PostgreSQL", string.Join(", ", SchemaScripts.Postgres));
            }
            else
            {
                await SchemaScripts.WaitForPostgresAsync(connectionString, SchemaWait, () => Log.WaitingForSchema(logger), cancellationToken);
            }

            await CheckPoolAsync(connectionString, cancellationToken);
        }
        else if (!settings.Storage.IsInMemory)
        {
            var path = settings.Storage.ResolvedPath;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await SchemaScripts.ApplySqliteAsync(SchemaScripts.SqliteConnectionString(path), cancellationToken);
            Log.LocalState(logger, path);
        }
        else
        {
            Log.InMemory(logger);
        }
    }

    private async Task CheckPoolAsync(string connectionString, CancellationToken cancellationToken)
    {
        var pool = new NpgsqlConnectionStringBuilder(connectionString).MaxPoolSize;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var max = reader.GetInt32(0);
        var usable = max - reader.GetInt32(1);
        if (pool >= usable)
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:X402 allows a pool of {pool} connections per process, but the PostgreSQL server accepts only {usable} " +
                $"(max_connections {max} minus reserved). Lower Maximum Pool Size (or X402:Storage:MaxPoolSize) so that all silos and " +
                "gateways together stay below max_connections.");
        }

        Log.Pool(logger, pool, max);
    }

    private static partial class Log
    {
        [LoggerMessage(510, LogLevel.Information, "Applied the {Database} schema ({Files})")]
        public static partial void SchemaApplied(ILogger logger, string database, string files);

        [LoggerMessage(511, LogLevel.Information, "Local mode: grain state and reminders in SQLite file {Path}")]
        public static partial void LocalState(ILogger logger, string path);

        [LoggerMessage(512, LogLevel.Warning, "Local mode with X402:Storage:Path=:memory: grain state is kept in memory and lost when the process stops")]
        public static partial void InMemory(ILogger logger);

        [LoggerMessage(514, LogLevel.Warning, "Waiting for the PostgreSQL schema (run `migrate`, or start one silo with X402__Storage__ApplySchema=true)")]
        public static partial void WaitingForSchema(ILogger logger);

        [LoggerMessage(513, LogLevel.Information, "PostgreSQL pool: up to {Pool} connections from this silo (server max_connections {Max}); keep the sum over all processes below it")]
        public static partial void Pool(ILogger logger, int pool, int max);
    }
}
