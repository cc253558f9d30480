namespace X402Orleans.Grains;

/// <summary>
/// Durable expiry and purge of sessions (bound from <c>X402:Sessions</c> by the silo host). The session grain keeps one
/// reminder: due at expiry while the session is live, then at <c>ended + Retention</c>, when the ended, expired or failed
/// session's state is deleted. Where no reminder service is configured the grain runs on its timer alone.
/// </summary>
public sealed class SessionLifecycleOptions
{
    /// <summary>How long ended, expired and failed sessions stay readable before they are purged (default 7 days).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Period of the lifecycle reminder, i.e. the retry interval when a tick was missed or failed (default 1 minute). The host
    /// lowers Orleans' minimum reminder period to this when it is shorter (test clusters only).
    /// </summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a session grain stays in memory without a call before Orleans collects it (default 2 minutes;
    /// <c>X402:Sessions:IdleCollectionSeconds</c>). Its state stays in storage and its reminder still expires it on time;
    /// the next call reactivates it (one state read). Live activations, and so the silo's memory, grow with this age times the
    /// rate at which sessions are created (docs/benchmarks.md, "One million sessions").
    /// </summary>
    public TimeSpan IdleCollectionAge { get; set; } = TimeSpan.FromMinutes(2);
}
