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
        foreach (var name in Postgres)
        {
            await using var command = new NpgsqlCommand(Read(name), connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
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
