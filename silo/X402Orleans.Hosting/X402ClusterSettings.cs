using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Npgsql;
using X402Orleans.Abstractions;

namespace X402Orleans.Hosting;

/// <summary>
/// The validated hosting configuration of a silo or gateway process: <c>X402:Cluster</c>, <c>X402:Storage</c> and, in AdoNet mode,
/// <c>ConnectionStrings:X402</c>. <see cref="Read"/> throws at start with every setting to fix.
/// </summary>
public sealed class X402ClusterSettings
{
    /// <summary>The connection string name (environment: <c>ConnectionStrings__X402</c>).</summary>
    public const string ConnectionStringName = "X402";

    /// <summary>The Orleans ADO.NET invariant for PostgreSQL.</summary>
    public const string PostgresInvariant = "Npgsql";

    private X402ClusterSettings(X402ClusterOptions cluster, X402StorageOptions storage, string? connectionString)
    {
        Cluster = cluster;
        Storage = storage;
        PostgresConnectionString = connectionString;
    }

    /// <summary>Cluster settings.</summary>
    public X402ClusterOptions Cluster { get; }

    /// <summary>Storage settings.</summary>
    public X402StorageOptions Storage { get; }

    /// <summary>AdoNet mode: the PostgreSQL connection string, with the pool limit applied. Null in Local mode.</summary>
    public string? PostgresConnectionString { get; }

    /// <summary>Reads and validates the settings; throws <see cref="InvalidConfigurationException"/> naming each bad setting.</summary>
    public static X402ClusterSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();
        var cluster = Bind<X402ClusterOptions>(configuration, X402ClusterOptions.SectionName, errors);
        var storage = Bind<X402StorageOptions>(configuration, X402StorageOptions.SectionName, errors);
        Validate(cluster, errors);
        Validate(storage, errors);
        if (cluster.SiloPort == cluster.GatewayPort)
        {
            errors.Add("X402:Cluster:SiloPort and X402:Cluster:GatewayPort must differ");
        }

        if (cluster.ActivationMemoryLimitMB is > 0 and < X402ClusterOptions.MinActivationMemoryLimitMB)
        {
            errors.Add(X402ClusterOptions.ActivationMemoryLimitError);
        }

        string? connectionString = null;
        if (cluster.IsAdoNet)
        {
            connectionString = NormalizePostgres(configuration.GetConnectionString(ConnectionStringName), storage.MaxPoolSize, errors);
        }
        else if (!storage.IsInMemory)
        {
            try
            {
                _ = storage.ResolvedPath;
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
            {
                errors.Add($"X402:Storage:Path is not a usable file path ({ex.Message})");
            }
        }

        return errors.Count == 0
            ? new X402ClusterSettings(cluster, storage, connectionString)
            : throw new InvalidConfigurationException(string.Join("; ", errors));
    }

    /// <summary>
    /// Checks a PostgreSQL connection string and applies the pool limit when it sets none. Errors never echo the string (it
    /// may hold a password).
    /// </summary>
    public static string? NormalizePostgres(string? connectionString, int defaultMaxPoolSize, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            errors.Add("X402:Cluster:Mode=AdoNet needs ConnectionStrings:X402 (environment ConnectionStrings__X402), a PostgreSQL connection string such as Host=db;Port=5432;Username=x402;Password=…;Database=x402");
            return null;
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            errors.Add($"ConnectionStrings:X402 is not a valid PostgreSQL connection string: {ex.Message.Split('\n')[0]}");
            return null;
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            errors.Add("ConnectionStrings:X402 must name a Host");
        }

        if (!connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("MaxPoolSize", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxPoolSize = defaultMaxPoolSize;
        }

        if (builder.MinPoolSize > builder.MaxPoolSize)
        {
            errors.Add("ConnectionStrings:X402: Minimum Pool Size exceeds Maximum Pool Size");
        }

        return builder.ConnectionString;
    }

    private static T Bind<T>(IConfiguration configuration, string section, List<string> errors)
        where T : new()
    {
        try
        {
            return configuration.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException ex)
        {
            errors.Add($"{section}: {ex.Message}");
            return new T();
        }
    }

    private static void Validate(object options, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => r.ErrorMessage ?? "invalid setting"));
        }
    }
}
