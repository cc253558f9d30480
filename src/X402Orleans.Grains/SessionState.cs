using X402Orleans.Abstractions;

namespace X402Orleans.Grains;

/// <summary>
/// The persisted state of a session. <see cref="SchemaVersion"/> versions the contract; members are only ever added.
/// No key material lives here: the wallet stays in the gateway.
/// </summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.SessionState")]
public sealed class SessionState
{
    /// <summary>Current contract version.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Contract version this state was written with.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>Owning agent.</summary>
    [Id(1)] public string AgentId { get; set; } = string.Empty;

    /// <summary>Normalised endpoint URL.</summary>
    [Id(2)] public string Endpoint { get; set; } = string.Empty;

    /// <summary><c>prefix</c> or <c>exact</c>.</summary>
    [Id(3)] public string Scope { get; set; } = "prefix";

    /// <summary>Caller's label.</summary>
    [Id(4)] public string? Label { get; set; }

    /// <summary>Lifecycle state.</summary>
    [Id(5)] public SessionStatus Status { get; set; }

    /// <summary>Creation time.</summary>
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Expiry time.</summary>
    [Id(7)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>When it ended, expired or failed.</summary>
    [Id(8)] public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Calls delivered through the session (the first request included).</summary>
    [Id(9)] public long CallCount { get; set; }

    /// <summary>Last delivered call.</summary>
    [Id(10)] public DateTimeOffset? LastUsedAt { get; set; }

    /// <summary>How access is reused.</summary>
    [Id(11)] public ReuseMode Reuse { get; set; }

    /// <summary>Per-payment ceiling (decimal string in the asset's units).</summary>
    [Id(12)] public string MaxPayment { get; set; } = "0";

    /// <summary>Whether the session may pay again after its first payment.</summary>
    [Id(13)] public bool AllowRepeatPayments { get; set; }

    /// <summary>The resource URL the server named when paid (echoed in later proofs).</summary>
    [Id(14)] public string? ResourceUrl { get; set; }

    /// <summary>
    /// Receipts of settled payments: the first (the start's) and the newest, at most <see cref="SessionGrain.MaxReceiptsKept"/>,
    /// so the record does not grow with a pay-per-call session's history. Every payment is in <see cref="PaidTotals"/> and in
    /// the agent's payment log.
    /// </summary>
    [Id(15)] public List<PaymentReceipt> Payments { get; set; } = [];

    /// <summary>Payments authorised but not yet recorded as settled or failed.</summary>
    [Id(16)] public List<PendingPayment> Pending { get; set; } = [];

    /// <summary>Why the session failed, when it did.</summary>
    [Id(17)] public string? FailureReason { get; set; }

    /// <summary>Ceiling on the session's total spend per asset (decimal string in the asset's units), or null for none.</summary>
    [Id(18)] public string? MaxTotal { get; set; }

    /// <summary>Ids of the most recently recorded calls (newest last), so a resent outcome is not counted twice.</summary>
    [Id(19)] public List<Guid> RecentCallIds { get; set; } = [];

    /// <summary>
    /// Total paid per asset over every settled payment. Empty in records written before it existed: then it is computed from
    /// <see cref="Payments"/> (which then still held every receipt) on activation.
    /// </summary>
    [Id(30)] public List<AssetTotal> PaidTotals { get; set; } = [];

    /// <summary>The agent index page the session is listed in (null: not known, e.g. registered by an earlier version).</summary>
    [Id(20)] public long? IndexPage { get; set; }

    /// <summary>The idempotency key the session was started under, released when the session fails or is purged.</summary>
    [Id(21)] public string? IdempotencyKey { get; set; }

    /// <summary>Fingerprint of the start's arguments (a retry with other arguments is refused).</summary>
    [Id(22)] public string? Fingerprint { get; set; }

    /// <summary>The start attempt that holds the lease on a starting session.</summary>
    [Id(23)] public Guid AttemptId { get; set; }

    /// <summary>Until when <see cref="AttemptId"/> holds the start (another attempt waits until then).</summary>
    [Id(24)] public DateTimeOffset? LeaseUntil { get; set; }

    /// <summary>The start failed with a payment whose outcome is unknown (a retry reports it instead of paying again).</summary>
    [Id(25)] public bool PaymentUnknown { get; set; }

    /// <summary>
    /// The layout before channel pools: the one batch-settlement channel the session paid through. Read once on activation, moved
    /// into <see cref="Channels"/> and written back empty.
    /// </summary>
    [Id(31)] public SessionChannelRecord? Channel { get; set; }

    /// <summary>
    /// The batch-settlement channels the session paid through, in the order it first used them (empty until its first channel
    /// payment): its agent's pool of channels with the payee, of which each request takes the lowest-numbered free one.
    /// </summary>
    [Id(32)] public List<SessionChannelRecord> Channels { get; set; } = [];
}

/// <summary>The batch-settlement channel a session pays through; the channel's own numbers live in its grain.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.SessionChannelRecord")]
public sealed class SessionChannelRecord
{
    /// <summary>The channel grain's key.</summary>
    [Id(0)] public string Key { get; set; } = string.Empty;

    /// <summary>CAIP-2 network.</summary>
    [Id(1)] public string Network { get; set; } = string.Empty;

    /// <summary>Token address.</summary>
    [Id(2)] public string Asset { get; set; } = string.Empty;

    /// <summary>Token symbol.</summary>
    [Id(3)] public string Symbol { get; set; } = string.Empty;

    /// <summary>Token decimals.</summary>
    [Id(4)] public int Decimals { get; set; }

    /// <summary>The channel id.</summary>
    [Id(5)] public string ChannelId { get; set; } = string.Empty;

    /// <summary>What this session's vouchers were charged (atomic).</summary>
    [Id(6)] public string ChargedAtomic { get; set; } = "0";

    /// <summary>The session ended as the channel's last live session: the cooperative refund is to be asked for.</summary>
    [Id(7)] public bool RefundDue { get; set; }

    /// <summary>What happened to the channel at the end.</summary>
    [Id(8)] public string? Note { get; set; }

    /// <summary>Its number in the agent's pool of channels with the payee (its salt is <c>AgentSalt(agent, PoolIndex)</c>).</summary>
    [Id(9)] public int PoolIndex { get; set; }
}

/// <summary>A payment authorised by the grain whose outcome is not yet known.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.PendingPayment")]
public sealed class PendingPayment
{
    /// <summary>Reservation id given to the gateway.</summary>
    [Id(0)] public Guid ReservationId { get; set; }

    /// <summary>What was authorised.</summary>
    [Id(1)] public PaymentQuote Quote { get; set; } = null!;

    /// <summary>When.</summary>
    [Id(2)] public DateTimeOffset AuthorizedAt { get; set; }

    /// <summary>The wallet budget grain holding the matching reservation.</summary>
    [Id(3)] public string BudgetKey { get; set; } = string.Empty;

    /// <summary>The signed payment's header name, once signed.</summary>
    [Id(4)] public string? HeaderName { get; set; }

    /// <summary>The signed payment's header value (a single-use authorization; never the key), kept to be resent.</summary>
    [Id(5)] public string? HeaderValue { get; set; }

    /// <summary>The EIP-3009 nonce (exact, 0x + 32 bytes of hex) or the Permit2 nonce (upto, a decimal uint256).</summary>
    [Id(6)] public string? Nonce { get; set; }

    /// <summary>The authorization's validBefore (exact) or the Permit2 deadline (upto): it cannot settle after this.</summary>
    [Id(7)] public DateTimeOffset? ValidBefore { get; set; }

    /// <summary>Whether this pays for the session's start (at most one per start).</summary>
    [Id(8)] public bool ForStart { get; set; }

    /// <summary>Whether the 402 it answers offered sign-in-with-x.</summary>
    [Id(9)] public bool SignInWithXOffered { get; set; }

    /// <summary>Whether the request carrying it got no answer (it may have settled).</summary>
    [Id(10)] public bool Unanswered { get; set; }

    /// <summary>
    /// An <c>upto</c> payment the server settled for 0: that does not consume the Permit2 nonce, so the signed payload could still be
    /// settled (up to its maximum) until <see cref="ValidBefore"/>: its maximum stays reserved until then, and is then released.
    /// </summary>
    [Id(11)] public bool ChargedZero { get; set; }

    /// <summary>A batch-settlement request: the channel grain's key (its request id is <see cref="ReservationId"/>; budgets are the channel's).</summary>
    [Id(12)] public string? ChannelKey { get; set; }

    /// <summary>A batch-settlement request's deposit (atomic; "0" for a voucher alone).</summary>
    [Id(13)] public string DepositAtomic { get; set; } = "0";

    /// <summary>A batch-settlement refund request (its quote's amount is the remaining balance asked back).</summary>
    [Id(14)] public bool Refund { get; set; }

    /// <summary>Signed after a corrective 402 was adopted: a second correction is not retried.</summary>
    [Id(15)] public bool Corrected { get; set; }
}

/// <summary>
/// The persisted state of an agent's index: page numbers only, so the record stays the same size whatever the agent's history.
/// Sessions and attempts live in page grains, idempotency keys in one grain each. <see cref="Sessions"/>,
/// <see cref="IdempotencyKeys"/> and <see cref="Attempts"/> are the layout of schema version 1, read once on activation, moved
/// into the new structures and written back empty.
/// </summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.AgentState")]
public sealed class AgentState
{
    /// <summary>Current contract version.</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>Version 1: live session ids (now in session pages; empty once migrated).</summary>
    [Id(1)] public HashSet<Guid> Sessions { get; set; } = [];

    /// <summary>Version 1: idempotency keys → (session id, argument fingerprint) (now one grain per key; empty once migrated).</summary>
    [Id(2)] public Dictionary<string, IdempotencyEntry> IdempotencyKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Version 1: payment attempts, oldest first (now in audit pages; empty once migrated).</summary>
    [Id(3)] public List<PaymentAttempt> Attempts { get; set; } = [];

    /// <summary>The audit page new attempts are appended to.</summary>
    [Id(4)] public long AuditPage { get; set; }

    /// <summary>The session page new sessions are added to.</summary>
    [Id(5)] public long SessionPage { get; set; }

    /// <summary>Session pages that may hold live sessions, ascending (a page leaves once it is full and empty).</summary>
    [Id(6)] public List<long> LiveSessionPages { get; set; } = [];

    /// <summary>Whether the record still holds members of the version 1 layout.</summary>
    internal bool HasLegacyMembers => Sessions.Count > 0 || IdempotencyKeys.Count > 0 || Attempts.Count > 0;
}

/// <summary>One page of an agent's payment audit log: at most <see cref="PageSizes.Audit"/> attempts, oldest first; never rewritten once full.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.AuditPageState")]
public sealed class AuditPageState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>Attempts, oldest first.</summary>
    [Id(1)] public List<PaymentAttempt> Entries { get; set; } = [];
}

/// <summary>One page of an agent's session index: the live sessions among the at most <see cref="PageSizes.Sessions"/> added to it.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.SessionPageState")]
public sealed class SessionPageState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>How many sessions were ever added (slots used).</summary>
    [Id(1)] public int Added { get; set; }

    /// <summary>Live sessions by slot, ascending.</summary>
    [Id(2)] public List<SessionSlot> Live { get; set; } = [];
}

/// <summary>A live session in a session page.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.SessionSlot")]
public sealed class SessionSlot
{
    /// <summary>Position in the page (order added).</summary>
    [Id(0)] public int Slot { get; set; }

    /// <summary>The session.</summary>
    [Id(1)] public Guid SessionId { get; set; }
}

/// <summary>One idempotency key of one agent.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.IdempotencyState")]
public sealed class IdempotencyState
{
    /// <summary>Contract version.</summary>
    [Id(0)] public int SchemaVersion { get; set; } = 1;

    /// <summary>The session created under the key.</summary>
    [Id(1)] public Guid SessionId { get; set; }

    /// <summary>Fingerprint of the start arguments.</summary>
    [Id(2)] public string Fingerprint { get; set; } = string.Empty;
}

/// <summary>An idempotency key's binding.</summary>
[GenerateSerializer]
[Alias("X402Orleans.Grains.IdempotencyEntry")]
public sealed class IdempotencyEntry
{
    /// <summary>The session created under the key.</summary>
    [Id(0)] public Guid SessionId { get; set; }

    /// <summary>Fingerprint of the start arguments.</summary>
    [Id(1)] public string Fingerprint { get; set; } = string.Empty;
}
