namespace X402Orleans.Silo;

/// <summary>
/// Orleans' membership clock (<c>TimeProviderNames.Membership</c>, which also drives the silo watchdog) with its monotonic
/// timestamps counted from this clock's creation (host build) instead of the machine's boot. Elapsed times between two
/// timestamps are exactly the system clock's; only a timestamp of zero changes meaning, from "machine boot" to "process start".
/// </summary>
/// <remarks>
/// Orleans' <c>Watchdog.Start</c> starts its platform thread before it records the component thread's first timestamp; when the
/// platform thread checks first, it measures from timestamp zero and warns "Participant check thread has not completed for
/// &lt;machine uptime&gt;, potentially indicating … deadlock". Counted from process start, that first reading is a few seconds
/// and stays under the threshold (twice <c>ClusterMembershipOptions.LocalHealthDegradationMonitoringPeriod</c>), while a real
/// stall later on is measured, and reported, exactly as before.
/// </remarks>
internal sealed class ProcessRelativeTimeProvider : TimeProvider
{
    private readonly long _origin = TimeProvider.System.GetTimestamp();

    /// <inheritdoc />
    public override long GetTimestamp() => TimeProvider.System.GetTimestamp() - _origin;
}
