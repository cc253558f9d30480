using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection.Extensions;
using X402Orleans.Grains;

namespace X402Orleans.Silo;

/// <summary>Configures the Orleans silo from <c>X402:Cluster</c>.</summary>
public static class SiloHosting
{
    /// <summary>Reads and validates the cluster options; throws with the setting to fix.</summary>
    public static X402ClusterOptions ReadClusterOptions(IConfiguration configuration)
    {
        var options = configuration.GetSection(X402ClusterOptions.SectionName).Get<X402ClusterOptions>() ?? new X402ClusterOptions();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new InvalidOperationException("Invalid configuration: " + string.Join("; ", results.Select(r => r.ErrorMessage)));
        }

        return options;
    }

    /// <summary>Configures the silo for the chosen mode.</summary>
    public static void Configure(ISiloBuilder silo, X402ClusterOptions options)
    {
        silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
        silo.AddMemoryGrainStorage(StorageNames.Sessions);
        silo.Services.TryAddKeyedSingleton(Grains.TimeProviderNames.Grains, TimeProvider.System);
    }
}
