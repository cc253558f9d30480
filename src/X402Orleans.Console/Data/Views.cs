using X402Orleans.Abstractions;

namespace X402Orleans.OperatorConsole.Data;

/// <summary>One silo as the cluster's membership lists it: its host:port, and the full Orleans address (with the generation).</summary>
public sealed record SiloRow(string Address, string FullAddress, string Status, string? Name);

/// <summary>One asset's wallet spend today against the wallet's daily limit (atomic units; limit null: none).</summary>
public sealed record AssetSpendRow(string Asset, string Symbol, string Network, int Decimals, string Spent, string? Limit);

/// <summary>One 10-second point of the fleet's calls.</summary>
public sealed record SeriesPoint(DateTimeOffset Start, long Calls, long Errors, double? P50Ms);

/// <summary>The overview (null parts: the cluster did not answer for them).</summary>
public sealed record OverviewData(
    IReadOnlyList<SiloRow>? Silos,
    int? ActiveSessions,
    double CallsPerSecond,
    double? P50Ms,
    IReadOnlyList<SeriesPoint> Series,
    IReadOnlyList<AssetSpendRow>? PaymentsToday,
    FleetControls? Controls,
    DateTimeOffset Now);

/// <summary>One agent's line (null parts: not available).</summary>
public sealed record AgentRow(string Id, int? ActiveSessions, IReadOnlyList<AssetBudgetView>? Budgets, bool? Suspended);

/// <summary>One payment attempt with the agent that made it.</summary>
public sealed record PaymentRow(string AgentId, PaymentAttempt Attempt);

/// <summary>One page of the session search.</summary>
public sealed record SessionPage(IReadOnlyList<SessionSnapshot> Sessions, int Page, bool HasNext, bool Complete);

/// <summary>Session states as the console names them.</summary>
public static class SessionStates
{
    /// <summary>"starting", "active", "expired", "ended" or "failed" (an active session past its expiry is "expired").</summary>
    public static string Name(SessionSnapshot session, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Status switch
        {
            SessionStatus.Starting or SessionStatus.Active when session.ExpiresAt <= now => "expired",
            SessionStatus.Starting => "starting",
            SessionStatus.Active => "active",
            SessionStatus.Expired => "expired",
            SessionStatus.Ended => "ended",
            SessionStatus.Failed => "failed",
            _ => session.Status.ToString().ToLowerInvariant(),
        };
    }

    /// <summary>Whether an operator can still end the session.</summary>
    public static bool IsLive(SessionSnapshot session, DateTimeOffset now) => Name(session, now) is "starting" or "active";
}

/// <summary>The outcomes a payment attempt is logged with (docs/tools.md, <c>x402_payment_log</c>).</summary>
public static class PaymentOutcomes
{
    /// <summary>
    /// settled, refused, unknown, not_authorized, not_selected; batch-settlement's deposited and refunded (by a session), and
    /// withdraw_initiated, withdrawn and claimed (by the channel itself: no session).
    /// </summary>
    public static IReadOnlyList<string> Known { get; } = ["settled", "refused", "unknown", "not_authorized", "not_selected", "deposited", "refunded", "withdraw_initiated", "withdrawn", "claimed"];
}
