using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using X402Orleans.Silo.Storage;

namespace X402Orleans.Cluster.Tests;

/// <summary>A throwaway PostgreSQL database on the test server (dropped on dispose).</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private PostgresDatabase(string admin, string name, string connectionString)
    {
        _admin = admin;
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>Database name.</summary>
    public string Name { get; }

    /// <summary>Connection string of the new database.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates an empty database; with <paramref name="applySchema"/>, applies silo/sql/postgresql.</summary>
    public static async Task<PostgresDatabase> CreateAsync(bool applySchema)
    {
        var admin = TestEnvironment.RequirePostgres();
        var name = $"x402_test_{Guid.NewGuid():N}"[..30];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 10 }.ConnectionString;
        var database = new PostgresDatabase(admin, name, connectionString);
        if (applySchema)
        {
            await SchemaScripts.ApplyPostgresAsync(connectionString, CancellationToken.None);
        }

        return database;
    }

    /// <summary>An open connection.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>Runs an <c>OrleansQuery</c> text the way the Orleans ADO.NET providers do: one command, unprefixed parameter names with explicit DbTypes, every row of every result set.</summary>
public static class OrleansQueries
{
    /// <summary>A parameter as the provider binds it.</summary>
    public static (string Name, DbType Type, object? Value) P(string name, DbType type, object? value) => (name, type, value);

    /// <summary>Runs <paramref name="key"/>; returns all rows (column name → value, DBNull as null).</summary>
    public static async Task<List<Dictionary<string, object?>>> RunAsync(DbConnection connection, string key, params (string Name, DbType Type, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(connection);
        string text;
        await using (var lookup = connection.CreateCommand())
        {
            lookup.CommandText = "SELECT QueryKey, QueryText FROM OrleansQuery";
            var all = new Dictionary<string, string>(StringComparer.Ordinal);
            await using var reader = await lookup.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                all.Add(reader.GetString(0), reader.GetString(1));
            }

            text = all.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"OrleansQuery has no {key}");
        }

        await using var command = connection.CreateCommand();
        command.CommandText = text;
        foreach (var (name, type, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.DbType = type;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        var rows = new List<Dictionary<string, object?>>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            do
            {
                while (await reader.ReadAsync())
                {
                    var row = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                    }

                    rows.Add(row);
                }
            }
            while (await reader.NextResultAsync());
        }

        return rows;
    }

    /// <summary>The single column of the single row (a "boolean" or version result), as a long; null when no row or NULL.</summary>
    public static long? Scalar(List<Dictionary<string, object?>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return null;
        }

        var row = Assert.Single(rows);
        var value = Assert.Single(row).Value;
        return value switch
        {
            null => null,
            bool b => b ? 1 : 0,
            _ => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}

/// <summary>A SQLite state file in a temp folder.</summary>
public sealed class SqliteFile : IDisposable
{
    private readonly string _folder = TestEnvironment.TempFolder("x402-sqlite");

    /// <summary>The file.</summary>
    public string Path => System.IO.Path.Combine(_folder, "x402.db");

    /// <summary>Its connection string (as the silo builds it).</summary>
    public string ConnectionString => SchemaScripts.SqliteConnectionString(Path);

    /// <summary>An open connection.</summary>
    public async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
