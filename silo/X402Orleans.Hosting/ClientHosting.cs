using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace X402Orleans.Hosting;

/// <summary>Configures a gateway process's Orleans client from the validated settings.</summary>
public static class ClientHosting
{
    /// <summary>
    /// Local mode: the silo's gateway port on localhost. AdoNet mode: the cluster's live silos read from PostgreSQL (the
    /// client needs only the clustering tables). Keeps retrying to connect for <c>ConnectTimeoutSeconds</c>, so a gateway may
    /// start before the silos; re-reads the silo list every <c>GatewayListRefreshSeconds</c>; gives up on an unanswered call after
    /// <c>ResponseTimeoutSeconds</c>.
    /// </summary>
    /// <param name="client">The Orleans client builder.</param>
    /// <param name="settings">The validated cluster settings.</param>
    /// <param name="propagateActivities">Carry trace context into grain calls (only worth it when traces are recorded).</param>
    public static void Configure(IClientBuilder client, X402ClusterSettings settings, bool propagateActivities = true)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(settings);
        var cluster = settings.Cluster;
        if (cluster.IsAdoNet)
        {
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = X402ClusterSettings.PostgresInvariant;
                o.ConnectionString = settings.PostgresConnectionString;
            });
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
        }
        else
        {
            client.UseLocalhostClustering(cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
        }

        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(cluster.GatewayListRefreshSeconds));
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(cluster.ResponseTimeoutSeconds));
        var deadline = TimeSpan.FromSeconds(cluster.ConnectTimeoutSeconds);
        client.UseConnectionRetryFilter(new ConnectRetry(deadline));
        if (propagateActivities)
        {
            client.AddActivityPropagation();
        }

        client.Services.AddSingleton(settings);
    }

    private sealed class ConnectRetry(TimeSpan deadline) : IClientConnectionRetryFilter
    {
        private readonly DateTime _giveUpAt = DateTime.UtcNow + deadline;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            if (cancellationToken.IsCancellationRequested || DateTime.UtcNow >= _giveUpAt)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        }
    }
}
