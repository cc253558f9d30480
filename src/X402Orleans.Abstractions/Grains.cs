namespace X402Orleans.Abstractions;

/// <summary>
/// One x402 session (keyed by its id). Owns the session's policy and bookkeeping; never performs HTTP itself: each turn
/// authorises or records and returns, and the gateway makes the request between turns.
/// </summary>
public interface ISessionGrain : IGrainWithGuidKey
{
    /// <summary>Creates the session in <see cref="SessionStatus.Starting"/>.</summary>
    Task<SessionResult> Open(OpenSessionCommand command);

    /// <summary>Asks to make a payment for the session (checks owner, state, expiry and max_payment).</summary>
    Task<PaymentDecision> AuthorizePayment(string agentId, PaymentQuote quote);

    /// <summary>Records how an authorised payment ended (receipt or failure).</summary>
    Task RecordPayment(string agentId, PaymentOutcome outcome);

    /// <summary>Marks a starting session active after its first response.</summary>
    Task<SessionResult> Activate(string agentId, ReuseMode reuse, string? resourceUrl);

    /// <summary>Marks a starting session failed (the first request did not succeed) and deactivates it.</summary>
    Task<SessionResult> Abandon(string agentId, string reason);

    /// <summary>Checks whether a call to <paramref name="url"/> (null: the endpoint) would be allowed, without counting it.</summary>
    Task<CallTicket> AuthorizeCall(string agentId, string? url);

    /// <summary>
    /// The hot path of a reused call, in one turn: authorises a call to <paramref name="url"/> (null: the endpoint), counts it
    /// and persists the count before answering. Idempotent per <paramref name="callId"/>: resending the same call after a
    /// failover returns the ticket again without counting twice. A call that then gets no answer is uncounted by
    /// <see cref="CompleteCall"/> with an undelivered outcome carrying the same id. <paramref name="cancellationToken"/> only lets
    /// the caller stop waiting (a gateway resends the call when its silo is gone); the grain does not observe it.
    /// </summary>
    Task<CallTicket> BeginCall(string agentId, string? url, Guid callId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records one call's outcome, once per call id: a delivered call not yet counted is counted (and a reuse mode the server
    /// reported is noted); an undelivered call that <see cref="BeginCall"/> counted is uncounted. <paramref name="cancellationToken"/>
    /// only lets the caller stop waiting and resend; the grain does not observe it.
    /// </summary>
    Task<SessionResult> CompleteCall(string agentId, CallOutcome outcome, CancellationToken cancellationToken = default);

    /// <summary>The session as its owner sees it (<paramref name="cancellationToken"/>: the caller stops waiting; not observed).</summary>
    Task<SessionResult> GetStatus(string agentId, CancellationToken cancellationToken = default);

    /// <summary>Ends the session.</summary>
    Task<SessionResult> End(string agentId);
}

/// <summary>
/// One agent's index (keyed by agent id): its live sessions, its idempotency keys and its payment audit log. The agent's own
/// record holds only counters and page numbers; sessions and attempts live in bounded pages and each idempotency key in its
/// own record, so nothing the agent stores grows with its history.
/// </summary>
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>Adds a session to the agent's index; returns the index page it went to (pass it to <see cref="Unregister"/>).</summary>
    Task<long> Register(Guid sessionId);

    /// <summary>
    /// Removes a session from the agent's list of live sessions. <paramref name="page"/> is the page <see cref="Register"/>
    /// returned, or -1 when unknown (a session registered by an earlier version), which searches every live page.
    /// </summary>
    Task Unregister(Guid sessionId, long page);

    /// <summary>The agent's live (starting or active) session ids, oldest first (reads every live page; prefer <see cref="ListSessionsPage"/>).</summary>
    Task<IReadOnlyList<Guid>> ListSessions();

    /// <summary>
    /// At most <paramref name="limit"/> live session ids, oldest first, from position <paramref name="from"/> (0: the start; otherwise
    /// a <see cref="SessionIndexPage.Next"/> returned earlier). Each live session is listed once across the pages.
    /// </summary>
    Task<SessionIndexPage> ListSessionsPage(long from, int limit);

    /// <summary>
    /// Claims <paramref name="key"/> for a new session with the given argument fingerprint. Returns the session id the key maps
    /// to (the proposed one when newly claimed) and whether the fingerprint matches.
    /// </summary>
    Task<IdempotencyClaim> ClaimIdempotencyKey(string key, string fingerprint, Guid proposedSessionId);

    /// <summary>Releases a key whose session failed to start, so a retry can start afresh.</summary>
    Task ReleaseIdempotencyKey(string key, Guid sessionId);

    /// <summary>Appends a payment attempt to the agent's audit log (the newest <c>MaxAuditEntries</c> are kept).</summary>
    Task RecordAttempt(PaymentAttempt attempt);

    /// <summary>The agent's payment attempts, newest first.</summary>
    Task<IReadOnlyList<PaymentAttempt>> ListAttempts(int limit);
}

/// <summary>One page of an agent's live sessions.</summary>
[GenerateSerializer, Immutable]
public sealed record SessionIndexPage(
    [property: Id(0)] IReadOnlyList<Guid> SessionIds,
    [property: Id(1)] long? Next);

/// <summary>The result of claiming an idempotency key.</summary>
[GenerateSerializer, Immutable]
public sealed record IdempotencyClaim(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] bool IsNew,
    [property: Id(2)] bool FingerprintMatches);
