namespace X402Orleans.Abstractions;

/// <summary>
/// One x402 session (keyed by its id). Owns the session's policy and bookkeeping; never performs HTTP itself: each turn
/// authorises or records and returns, and the gateway makes the request between turns.
/// </summary>
[Alias("X402Orleans.Abstractions.ISessionGrain")]
public interface ISessionGrain : IGrainWithGuidKey
{
    /// <summary>Creates the session in <see cref="SessionStatus.Starting"/>.</summary>
    [Alias("946B7BF7")]
    Task<SessionResult> Open(OpenSessionCommand command);

    /// <summary>
    /// Begins or resumes the start of a session whose id is derived from (agent, idempotency key), so every retry of a start
    /// reaches this grain: creates it (or restarts a start that failed with nothing paid) under a lease held by
    /// <see cref="OpenSessionCommand.AttemptId"/>, replays a finished start, refuses one whose arguments differ, or hands back
    /// the pending payment of an earlier attempt to be resent (never a second payment for the same start).
    /// </summary>
    [Alias("BeginStart")]
    Task<StartStep> BeginStart(OpenSessionCommand command);

    /// <summary>
    /// Pays a 402 challenge for the session, in one turn: selects a requirement under the silo's policy and the session's
    /// max_payment, checks max_total, reserves the agent's and the wallet's daily budgets, signs with the silo's wallet, and
    /// records the signed payment as pending before returning it. A starting session signs at most one payment per start.
    /// </summary>
    [Alias("PreparePayment")]
    Task<PaymentDecision> PreparePayment(string agentId, PaymentChallenge challenge);

    /// <summary>Signs a sign-in-with-x proof for a URL within the scope of this live session.</summary>
    [Alias("SignIn")]
    Task<SignInProof> SignIn(string agentId, SignInRequest request);

    /// <summary>Asks to make a payment for the session (checks owner, state, expiry and max_payment).</summary>
    [Alias("310EDBA1")]
    Task<PaymentDecision> AuthorizePayment(string agentId, PaymentQuote quote);

    /// <summary>Records how an authorised payment ended (receipt or failure).</summary>
    [Alias("3B81839F")]
    Task RecordPayment(string agentId, PaymentOutcome outcome);

    /// <summary>Marks a starting session active after its first response.</summary>
    [Alias("2A22CE5D")]
    Task<SessionResult> Activate(string agentId, ReuseMode reuse, string? resourceUrl);

    /// <summary>Marks a starting session failed (the first request did not succeed) and deactivates it.</summary>
    [Alias("0AE8175A")]
    Task<SessionResult> Abandon(string agentId, string reason);

    /// <summary>Checks whether a call to <paramref name="url"/> (null: the endpoint) would be allowed, without counting it.</summary>
    [Alias("3DBE4264")]
    Task<CallTicket> AuthorizeCall(string agentId, string? url);

    /// <summary>
    /// The hot path of a reused call, in one turn: authorises a call to <paramref name="url"/> (null: the endpoint), counts it
    /// and persists the count before answering. Idempotent per <paramref name="callId"/>: resending the same call after a
    /// failover returns the ticket again without counting twice. A call that then gets no answer is uncounted by
    /// <see cref="CompleteCall"/> with an undelivered outcome carrying the same id. <paramref name="cancellationToken"/> only lets
    /// the caller stop waiting (a gateway resends the call when its silo is gone); the grain does not observe it.
    /// </summary>
    [Alias("F2F56F6E")]
    Task<CallTicket> BeginCall(string agentId, string? url, Guid callId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records one call's outcome, once per call id: a delivered call not yet counted is counted (and a reuse mode the server
    /// reported is noted); an undelivered call that <see cref="BeginCall"/> counted is uncounted. <paramref name="cancellationToken"/>
    /// only lets the caller stop waiting and resend; the grain does not observe it.
    /// </summary>
    [Alias("66D256D4")]
    Task<SessionResult> CompleteCall(string agentId, CallOutcome outcome, CancellationToken cancellationToken = default);

    /// <summary>The session as its owner sees it (<paramref name="cancellationToken"/>: the caller stops waiting; not observed).</summary>
    [Alias("E47BC39D")]
    Task<SessionResult> GetStatus(string agentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends the session. A session paying through batch-settlement channels leaves each: for each that no other live session uses, the
    /// snapshot's <see cref="SessionChannel.RefundDue"/> asks the gateway to fetch a fresh 402 and call <see cref="PrepareRefund"/>.
    /// </summary>
    [Alias("10DD0222")]
    Task<SessionResult> End(string agentId);

    /// <summary>
    /// Records the server's answer to a channel payment this session prepared (voucher, deposit or refund): the channel grain checks
    /// the charge (or adopts a corrective 402 backed by our own voucher, and signs the retry), the session adds the charge to its totals
    /// and the payment log records deposits, charges and refunds.
    /// </summary>
    [Alias("RecordChannelAnswer")]
    Task<ChannelAnswerResult> RecordChannelAnswer(string agentId, ChannelAnswer answer);

    /// <summary>
    /// Signs the cooperative refund of the session's next channel whose refund is due (after <see cref="End"/>, an expiry or an
    /// operator's end), from a fresh 402 of the same server (refused when another live session uses the channel); a refund signed
    /// before whose answer was never recorded is returned again, not signed anew. The caller sends it and reports with
    /// <see cref="RecordChannelAnswer"/>.
    /// </summary>
    [Alias("PrepareRefund")]
    Task<PaymentDecision> PrepareRefund(string agentId, PaymentChallenge challenge);
}

/// <summary>
/// One agent's index (keyed by agent id): its live sessions, its idempotency keys and its payment audit log. The agent's own
/// record holds only counters and page numbers; sessions and attempts live in bounded pages and each idempotency key in its
/// own record, so nothing the agent stores grows with its history.
/// </summary>
[Alias("X402Orleans.Abstractions.IAgentGrain")]
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>Adds a session to the agent's index; returns the index page it went to (pass it to <see cref="Unregister"/>).</summary>
    [Alias("54D6DEAA")]
    Task<long> Register(Guid sessionId);

    /// <summary>
    /// Removes a session from the agent's list of live sessions. <paramref name="page"/> is the page <see cref="Register"/>
    /// returned, or -1 when unknown (a session registered by an earlier version), which searches every live page.
    /// </summary>
    [Alias("8AEA908D")]
    Task Unregister(Guid sessionId, long page);

    /// <summary>The agent's live (starting or active) session ids, oldest first (reads every live page; prefer <see cref="ListSessionsPage"/>).</summary>
    [Alias("CDE75F9E")]
    Task<IReadOnlyList<Guid>> ListSessions();

    /// <summary>
    /// At most <paramref name="limit"/> live session ids, oldest first, from position <paramref name="from"/> (0: the start; otherwise
    /// a <see cref="SessionIndexPage.Next"/> returned earlier). Each live session is listed once across the pages.
    /// </summary>
    [Alias("1261ABE9")]
    Task<SessionIndexPage> ListSessionsPage(long from, int limit);

    /// <summary>
    /// Claims <paramref name="key"/> for a new session with the given argument fingerprint. Returns the session id the key maps
    /// to (the proposed one when newly claimed) and whether the fingerprint matches.
    /// </summary>
    [Alias("AA44DD44")]
    Task<IdempotencyClaim> ClaimIdempotencyKey(string key, string fingerprint, Guid proposedSessionId);

    /// <summary>Releases a key whose session failed to start, so a retry can start afresh.</summary>
    [Alias("2BEBA287")]
    Task ReleaseIdempotencyKey(string key, Guid sessionId);

    /// <summary>Appends a payment attempt to the agent's audit log (the newest <c>MaxAuditEntries</c> are kept).</summary>
    [Alias("7B0403D6")]
    Task RecordAttempt(PaymentAttempt attempt);

    /// <summary>The agent's payment attempts, newest first.</summary>
    [Alias("7961B822")]
    Task<IReadOnlyList<PaymentAttempt>> ListAttempts(int limit);
}

/// <summary>One page of an agent's live sessions.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.SessionIndexPage")]
public sealed record SessionIndexPage(
    [property: Id(0)] IReadOnlyList<Guid> SessionIds,
    [property: Id(1)] long? Next);

/// <summary>The result of claiming an idempotency key.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.IdempotencyClaim")]
public sealed record IdempotencyClaim(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] bool IsNew,
    [property: Id(2)] bool FingerprintMatches);
