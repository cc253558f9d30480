using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace X402Orleans.Abstractions;

/// <summary>
/// The one <see cref="System.Diagnostics.Metrics.Meter"/> and one <see cref="System.Diagnostics.ActivitySource"/> of X402Orleans, both
/// named <see cref="Name"/>, shared by the gateway and the grains, and the session lifecycle instruments the grains record. Process-wide
/// (the BCL pattern for libraries): an OpenTelemetry pipeline or a <see cref="MeterListener"/> subscribes by name; with no listener
/// every record is a no-op.
/// </summary>
public static class X402Diagnostics
{
    /// <summary>The meter and activity source name.</summary>
    public const string Name = "X402Orleans";

    /// <summary>Traces: MCP call → session service → grain calls (Orleans' own spans) → upstream request.</summary>
    public static readonly ActivitySource ActivitySource = new(Name, Version);

    /// <summary>Metrics.</summary>
    public static readonly Meter Meter = new(Name, Version);

    /// <summary><c>x402.sessions.started</c>: sessions that became active (first request answered), tagged <c>x402.reuse</c>.</summary>
    public static readonly Counter<long> SessionsStarted = Meter.CreateCounter<long>("x402.sessions.started", "{session}", "Sessions that became active");

    /// <summary><c>x402.sessions.ended</c>: sessions ended by their owner.</summary>
    public static readonly Counter<long> SessionsEnded = Meter.CreateCounter<long>("x402.sessions.ended", "{session}", "Sessions ended by their owner");

    /// <summary><c>x402.sessions.expired</c>: sessions whose time ran out.</summary>
    public static readonly Counter<long> SessionsExpired = Meter.CreateCounter<long>("x402.sessions.expired", "{session}", "Sessions whose time ran out");

    /// <summary><c>x402.sessions.failed</c>: sessions whose first request failed (nothing granted).</summary>
    public static readonly Counter<long> SessionsFailed = Meter.CreateCounter<long>("x402.sessions.failed", "{session}", "Sessions whose first request failed");

    /// <summary>
    /// <c>x402.sessions.active</c>: +1 when a session becomes active, −1 when an active one ends or expires. Summed over the cluster's
    /// processes it is the number of active sessions; one process alone reports the net of the transitions it handled.
    /// </summary>
    public static readonly UpDownCounter<long> SessionsActive = Meter.CreateUpDownCounter<long>("x402.sessions.active", "{session}", "Active sessions (sum over the cluster)");

    private static string Version => typeof(X402Diagnostics).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";

    /// <summary>A session became active.</summary>
    public static void SessionActivated(ReuseMode reuse)
    {
        SessionsStarted.Add(1, new KeyValuePair<string, object?>("x402.reuse", ReuseTag(reuse)));
        SessionsActive.Add(1);
    }

    /// <summary>A session closed with <paramref name="status"/>; <paramref name="wasActive"/>: it had become active before.</summary>
    public static void SessionClosed(SessionStatus status, bool wasActive)
    {
        switch (status)
        {
            case SessionStatus.Ended:
                SessionsEnded.Add(1);
                break;
            case SessionStatus.Expired:
                SessionsExpired.Add(1);
                break;
            case SessionStatus.Failed:
                SessionsFailed.Add(1);
                break;
        }

        if (wasActive)
        {
            SessionsActive.Add(-1);
        }
    }

    /// <summary>The tag value of a reuse mode.</summary>
    public static string ReuseTag(ReuseMode reuse) => reuse switch
    {
        ReuseMode.SignInWithX => "sign-in-with-x",
        ReuseMode.PayPerCall => "pay-per-call",
        ReuseMode.Free => "free",
        _ => "unknown",
    };
}
