using Orleans.Runtime;
using X402Orleans.Gateway.Sessions;

namespace X402Orleans.Silo;

/// <summary>
/// In a silo that co-hosts the MCP gateway: raises the <see cref="ClusterChangeSignal"/> when the membership table declares a
/// silo dead, so the gateway's calls in flight are resent at once. (Orleans itself fails a silo's calls addressed to a silo
/// declared dead; this also covers a call that reached the dead silo through another one.)
/// </summary>
internal sealed class MembershipChangeWatcher(IClusterMembershipService membership, ClusterChangeSignal signal) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ClusterMembershipSnapshot? previous = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (previous is not null && snapshot.CreateUpdate(previous).Changes.Any(c => c.Status == SiloStatus.Dead))
                {
                    signal.Raise("a silo was declared dead");
                }

                previous = snapshot;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
