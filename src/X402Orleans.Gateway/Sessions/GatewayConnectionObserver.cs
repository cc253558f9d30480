namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// In a gateway process (an Orleans client): raises the <see cref="ClusterChangeSignal"/> when a connection to a silo closes.
/// A killed silo's connection closes at once; a silo the cluster declared dead is dropped from the client's list at its next
/// refresh (<c>GatewayListRefreshSeconds</c>) and its connection closed then. Either way, the calls waiting on it are resent
/// instead of waiting the response timeout. Silos never call it (a co-hosted gateway uses <see cref="ClusterChangeSignal"/>
/// through the silo's membership instead).
/// </summary>
internal sealed class GatewayConnectionObserver(ClusterChangeSignal signal) : IClusterConnectionStatusObserver
{
    /// <inheritdoc />
    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways < previousNumberOfGateways)
        {
            signal.Raise("a silo connection closed");
        }
    }

    /// <inheritdoc />
    public void NotifyClusterConnectionLost() => signal.Raise("no silo connection left");
}
