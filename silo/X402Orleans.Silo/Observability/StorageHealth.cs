using Microsoft.Data.Sqlite;
using Npgsql;
using X402Orleans.Gateway.Observability;
using X402Orleans.Hosting;
using X402Orleans.Silo.Storage;

namespace X402Orleans.Silo.Observability;

/// <summary>The database behind the cluster, as a readiness check.</summary>
public static class StorageHealth
{
    /// <summary>
    /// Adds <c>database</c> to <c>/health/ready</c>: PostgreSQL in AdoNet mode, the SQLite state file in Local mode (none for
    /// <c>:memory:</c>). The check opens a connection and runs <c>SELECT 1</c>.
    /// </summary>
    public static IServiceCollection AddX402StorageHealthCheck(this IServiceCollection services, X402ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Cluster.IsAdoNet)
        {
            var connectionString = settings.PostgresConnectionString!;
            services.AddX402DatabaseCheck("database", () => new NpgsqlConnection(connectionString));
        }
        else if (!settings.Storage.IsInMemory)
        {
            var connectionString = SchemaScripts.SqliteConnectionString(settings.Storage.ResolvedPath);
            services.AddX402DatabaseCheck("database", () => new SqliteConnection(connectionString));
        }

        return services;
    }
}
