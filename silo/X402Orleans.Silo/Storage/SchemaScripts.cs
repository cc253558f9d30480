using System.Reflection;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace X402Orleans.Silo.Storage;

/// <summary>
/// The project's own schema files (<c>silo/sql/</c>, embedded in this assembly) and how to apply them. Every file is
/// re-runnable, so applying at each start is safe.
/// </summary>
public static class SchemaScripts
{
    /// <summary>PostgreSQL files, in order: clustering, persistence, reminders.</summary>
    public static IReadOnlyList<string> Postgres { get; } = ["postgresql/clustering.sql", "postgresql/persistence.sql", "postgresql/reminders.sql"];

    /// <summary>SQLite files, in order: persistence, reminders.</summary>
    public static IReadOnlyList<string> Sqlite { get; } = ["sqlite/persistence.sql", "sqlite/reminders.sql"];

    /// <summary>The text of one file, e.g. <c>postgresql/clustering.sql</c>.</summary>
    public static string Read(string name)
    {
        using var stream = typeof(SchemaScripts).Assembly.GetManifestResourceStream("sql/" + name)
            ?? throw new InvalidOperationException($"Schema file sql/{name} is not embedded in {typeof(SchemaScripts).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Applies every PostgreSQL file (each in its own transaction, serialised by an advisory lock).</summary>
    public static async Task ApplyPostgresAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);

        // One applier at a time (silos started together, or a migrate step beside a silo): the scripts are idempotent but
        // concurrent CREATE … IF NOT EXISTS can still collide. Waiting silos take the same lock shared.
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({SchemaLockKey})", cancellationToken);
        try
        {
            foreach (var name in Postgres)
            {
                await using var command = new NpgsqlCommand(Read(name), connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({SchemaLockKey})", CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits until the PostgreSQL schema is complete (every script applied: the last one's queries are registered), up to
    /// <paramref name="timeout"/>; a silo that does not apply the schema itself starts only then, instead of failing on a
    /// missing table. Throws, naming what to do, when the time runs out.
    /// </summary>
    public static async Task WaitForPostgresAsync(string connectionString, TimeSpan timeout, Action onWaiting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onWaiting);
        var giveUpAt = DateTime.UtcNow + timeout;
        var told = false;
        while (true)
        {
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(cancellationToken);
                await ExecuteAsync(connection, $"SELECT pg_advisory_lock_shared({SchemaLockKey})", cancellationToken);
                await using var check = new NpgsqlCommand(
                    "SELECT to_regclass('orleansquery') IS NOT NULL AND EXISTS (SELECT 1 FROM orleansquery WHERE querykey = 'ReadReminderRowsKey')", connection);
                object? complete;
                try
                {
                    complete = await check.ExecuteScalarAsync(cancellationToken);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
                {
                    complete = false;
                }

                if (complete is true)
                {
                    return;
                }
            }

            if (DateTime.UtcNow >= giveUpAt)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL schema is not there after {timeout.TotalSeconds:F0} s. Apply it first: `dotnet X402Orleans.Silo.dll migrate` " +
                    "(or set X402__Storage__ApplySchema=true on one silo).");
            }

            if (!told)
            {
                onWaiting();
                told = true;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    // An arbitrary constant naming the schema lock among the database's advisory locks ("x402").
    private const long SchemaLockKey = 0x78343032;

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Applies every SQLite file.</summary>
    public static async Task ApplySqliteAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var name in Sqlite)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = Read(name);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The SQLite connection string for a state file (shared cache off, pooled, waits up to 30 s on a locked file).</summary>
    public static string SqliteConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    internal static Assembly Assembly => typeof(SchemaScripts).Assembly;
}
