namespace X402Orleans.Abstractions;

/// <summary>
/// The operators' controls over the whole fleet (a single grain, key 0), durable across restarts: the kill switch (pause every
/// payment; optionally stop every call), suspended agents, and the audit trail of operator actions. Session grains enforce what
/// it says (the gateway is the untrusted edge): each silo keeps the current <see cref="FleetControls"/> in a cache that this grain
/// updates before a change is answered, so a change is in force cluster-wide when the operator sees it confirmed.
/// </summary>
[Alias("X402Orleans.Abstractions.IOperatorControlGrain")]
public interface IOperatorControlGrain : IGrainWithIntegerKey
{
    /// <summary>The controls in force.</summary>
    [Alias("GetControls")]
    Task<FleetControls> GetControls();

    /// <summary>Pauses (true) or resumes every payment: a start or fetch that would pay is refused and nothing is signed.</summary>
    [Alias("SetPaymentsPaused")]
    Task<FleetControls> SetPaymentsPaused(string operatorName, bool paused);

    /// <summary>Stops (true) or resumes every call through every session, paid or not.</summary>
    [Alias("SetCallsStopped")]
    Task<FleetControls> SetCallsStopped(string operatorName, bool stopped);

    /// <summary>Suspends (true) or resumes one agent: a suspended agent can start no session and make no payment.</summary>
    [Alias("SetAgentSuspended")]
    Task<FleetControls> SetAgentSuspended(string operatorName, string agentId, bool suspended);

    /// <summary>Appends an operator action that is not a control change (a session ended, a sign-in) to the audit trail.</summary>
    [Alias("RecordAction")]
    Task RecordAction(OperatorAction action);

    /// <summary>The newest operator actions, newest first.</summary>
    [Alias("ListActions")]
    Task<IReadOnlyList<OperatorAction>> ListActions(int limit);

    /// <summary>Registers a silo's cache to be told of every change (again every few minutes: registrations expire).</summary>
    [Alias("Subscribe")]
    Task Subscribe(IFleetControlsObserver observer);

    /// <summary>Stops telling <paramref name="observer"/> of changes.</summary>
    [Alias("Unsubscribe")]
    Task Unsubscribe(IFleetControlsObserver observer);
}

/// <summary>A silo's cache of the fleet controls, told of each change by <see cref="IOperatorControlGrain"/>.</summary>
[Alias("X402Orleans.Abstractions.IFleetControlsObserver")]
public interface IFleetControlsObserver : IGrainObserver
{
    /// <summary>The controls changed (the newest version wins; an older one is ignored).</summary>
    [Alias("ControlsChanged")]
    Task ControlsChanged(FleetControls controls);
}

/// <summary>The fleet controls in force.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.FleetControls")]
public sealed record FleetControls(
    [property: Id(0)] long Version,
    [property: Id(1)] bool PaymentsPaused,
    [property: Id(2)] bool CallsStopped,
    [property: Id(3)] IReadOnlyList<string> SuspendedAgents,
    [property: Id(4)] DateTimeOffset? ChangedAt,
    [property: Id(5)] string? ChangedBy)
{
    /// <summary>Nothing paused, stopped or suspended.</summary>
    public static FleetControls None { get; } = new(0, false, false, [], null, null);

    /// <summary>Whether <paramref name="agentId"/> is suspended.</summary>
    public bool IsSuspended(string agentId) => SuspendedAgents.Contains(agentId, StringComparer.Ordinal);
}

/// <summary>One operator action, as the audit trail shows it.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.OperatorAction")]
public sealed record OperatorAction(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Operator,
    [property: Id(2)] string Action,
    [property: Id(3)] string Target,
    [property: Id(4)] string? Detail);

/// <summary>A session as an operator sees it (any agent's; no owner check).</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.SessionDetail")]
public sealed record SessionDetail(
    [property: Id(0)] SessionSnapshot Session,
    [property: Id(1)] string? FailureReason,
    [property: Id(2)] int PendingPayments,
    [property: Id(3)] IReadOnlyList<RecentCall> RecentCalls);

/// <summary>A call through a session, as remembered by its live activation (not stored).</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.RecentCall")]
public sealed record RecentCall(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Url,
    [property: Id(2)] bool Allowed,
    [property: Id(3)] string? Refusal);

/// <summary>
/// Operator views and actions on one session (the same grain as <see cref="ISessionGrain"/>; its own interface so agents' code
/// paths never reach it).
/// </summary>
[Alias("X402Orleans.Abstractions.ISessionOperatorGrain")]
public interface ISessionOperatorGrain : IGrainWithGuidKey
{
    /// <summary>The session's detail, or null when no session was ever created with this id (the call creates nothing).</summary>
    [Alias("Inspect")]
    Task<SessionDetail?> Inspect();

    /// <summary>Ends the session for its owner; the owner's next call is refused as ended.</summary>
    [Alias("EndByOperator")]
    Task<SessionDetail?> EndByOperator(string operatorName);
}

/// <summary>
/// Cluster-wide call statistics for the operator console (a single grain, key 0, in memory only: the last 15 minutes). Every
/// gateway process reports its finished 10-second buckets; the console reads the merged series.
/// </summary>
[Alias("X402Orleans.Abstractions.IFleetStatsGrain")]
public interface IFleetStatsGrain : IGrainWithIntegerKey
{
    /// <summary>Adds one reporter's finished buckets.</summary>
    [Alias("Report")]
    Task Report(string reporter, IReadOnlyList<CallStatsBucket> buckets);

    /// <summary>The merged buckets starting at or after <paramref name="since"/>, oldest first.</summary>
    [Alias("Read")]
    Task<IReadOnlyList<CallStatsBucket>> Read(DateTimeOffset since);
}

/// <summary>Calls that finished in one 10-second window, with a latency histogram (bounds: <see cref="CallLatency.UpperBoundsMs"/>).</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.CallStatsBucket")]
public sealed record CallStatsBucket(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] long Calls,
    [property: Id(2)] long Errors,
    [property: Id(3)] IReadOnlyList<long> LatencyCounts);

/// <summary>The latency histogram shared by gateways and the console.</summary>
public static class CallLatency
{
    /// <summary>The width of a bucket.</summary>
    public static readonly TimeSpan BucketWidth = TimeSpan.FromSeconds(10);

    /// <summary>Upper bounds (inclusive, milliseconds) of the histogram's counts; the last count is everything above.</summary>
    public static readonly IReadOnlyList<double> UpperBoundsMs = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

    /// <summary>The start of the bucket <paramref name="at"/> falls in.</summary>
    public static DateTimeOffset BucketStart(DateTimeOffset at) =>
        new(at.UtcTicks - (at.UtcTicks % BucketWidth.Ticks), TimeSpan.Zero);

    /// <summary>The index of the histogram count for <paramref name="milliseconds"/>.</summary>
    public static int BucketIndex(double milliseconds)
    {
        for (var i = 0; i < UpperBoundsMs.Count; i++)
        {
            if (milliseconds <= UpperBoundsMs[i])
            {
                return i;
            }
        }

        return UpperBoundsMs.Count;
    }

    /// <summary>The median's upper bound in milliseconds from histogram counts (null when there are none).</summary>
    public static double? MedianUpperBoundMs(IReadOnlyList<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var total = counts.Sum();
        if (total == 0)
        {
            return null;
        }

        long seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            seen += counts[i];
            if (seen * 2 >= total)
            {
                return i < UpperBoundsMs.Count ? UpperBoundsMs[i] : double.PositiveInfinity;
            }
        }

        return double.PositiveInfinity;
    }
}

/// <summary>
/// The ASP.NET Core data-protection key ring kept in the cluster's storage (a single grain, key "default"), so every gateway
/// process signs and reads the same console cookies, antiforgery tokens and MCP session ids.
/// </summary>
[Alias("X402Orleans.Abstractions.IKeyRingGrain")]
public interface IKeyRingGrain : IGrainWithStringKey
{
    /// <summary>Every stored key element (XML text), oldest first.</summary>
    [Alias("GetElements")]
    Task<IReadOnlyList<string>> GetElements();

    /// <summary>Stores one key element under <paramref name="friendlyName"/> (an existing name is replaced).</summary>
    [Alias("StoreElement")]
    Task StoreElement(string friendlyName, string xml);
}
