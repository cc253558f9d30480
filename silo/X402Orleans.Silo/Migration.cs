using X402Orleans.Hosting;
using X402Orleans.Silo.Storage;

namespace X402Orleans.Silo;

/// <summary>
/// <c>X402Orleans.Silo migrate</c>: applies the schema of the configured mode (AdoNet: PostgreSQL, under an advisory lock; Local:
/// the SQLite file) and exits — the one-shot step that runs before a cluster's silos, which then wait for it.
/// </summary>
public static class Migration
{
    /// <summary>The command word.</summary>
    public const string Command = "migrate";

    /// <summary>Applies the schema; returns the process exit code (0 applied, 2 bad settings, 1 the database failed).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
        X402ClusterSettings settings;
        try
        {
            settings = X402ClusterSettings.Read(configuration);
        }
        catch (Exception ex) when (ex is X402Orleans.Abstractions.InvalidConfigurationException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"x402orleans migrate: invalid configuration: {ex.Message}");
            return 2;
        }

        try
        {
            if (settings.Cluster.IsAdoNet)
            {
                await SchemaScripts.ApplyPostgresAsync(settings.PostgresConnectionString!, CancellationToken.None);
                Console.WriteLine($"x402orleans migrate: PostgreSQL schema applied ({string.Join(", ", SchemaScripts.Postgres)})");
            }
            else if (settings.Storage.IsInMemory)
            {
                Console.WriteLine("x402orleans migrate: X402__Storage__Path is :memory:, nothing to apply");
            }
            else
            {
                var path = settings.Storage.ResolvedPath;
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await SchemaScripts.ApplySqliteAsync(SchemaScripts.SqliteConnectionString(path), CancellationToken.None);
                Console.WriteLine($"x402orleans migrate: SQLite schema applied to {path}");
            }

            return 0;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or IOException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"x402orleans migrate: the database failed: {ex.Message}");
            return 1;
        }
    }
}
