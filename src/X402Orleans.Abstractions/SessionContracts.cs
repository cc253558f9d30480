namespace X402Orleans.Abstractions;

/// <summary>Lifecycle of a session.</summary>
[Alias("X402Orleans.Abstractions.SessionStatus")]
public enum SessionStatus
{
    /// <summary>Created; the first request (and payment) is under way.</summary>
    Starting = 0,

    /// <summary>Usable until it expires or is ended.</summary>
    Active = 1,

    /// <summary>Its time ran out.</summary>
    Expired = 2,

    /// <summary>Ended by its owner.</summary>
    Ended = 3,

    /// <summary>The first request failed; nothing was granted.</summary>
    Failed = 4,
}

/// <summary>How a session regains access after its first request.</summary>
[Alias("X402Orleans.Abstractions.ReuseMode")]
public enum ReuseMode
{
    /// <summary>Not known yet (session starting).</summary>
    Unknown = 0,

    /// <summary>The server offers sign-in-with-x: the wallet proves it already paid.</summary>
    SignInWithX = 1,

    /// <summary>The server wants a payment on every call.</summary>
    PayPerCall = 2,

    /// <summary>The server asked for no payment.</summary>
    Free = 3,
}

/// <summary>Why a session operation was refused.</summary>
[Alias("X402Orleans.Abstractions.SessionErrorCode")]
public enum SessionErrorCode
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>No such session for this agent (also used for other agents' sessions: no oracle).</summary>
    NotFound,

    /// <summary>The session has expired.</summary>
    Expired,

    /// <summary>The session was ended.</summary>
    Ended,

    /// <summary>The session is not in a state that allows this.</summary>
    InvalidState,

    /// <summary>The URL is outside the session's scope.</summary>
    OutOfScope,

    /// <summary>A payment is not allowed by the session's policy.</summary>
    PaymentRefused,

    /// <summary>The session already exists.</summary>
    AlreadyExists,

    /// <summary>The agent is suspended by an operator (no new sessions, no payments).</summary>
    AgentSuspended,

    /// <summary>Every payment is paused by an operator (the kill switch); nothing was signed.</summary>
    PaymentsPaused,

    /// <summary>Every call is stopped by an operator.</summary>
    CallsStopped,
}

/// <summary>Everything needed to open a session.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.OpenSessionCommand")]
public sealed record OpenSessionCommand(
    [property: Id(0)] string AgentId,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string Scope,
    [property: Id(3)] string? Label,
    [property: Id(4)] TimeSpan Ttl,
    [property: Id(5)] string MaxPayment,
    [property: Id(6)] bool AllowRepeatPayments,
    [property: Id(7)] string? MaxTotal = null,
    [property: Id(8)] string? IdempotencyKey = null,
    [property: Id(9)] string? Fingerprint = null,
    [property: Id(10)] Guid AttemptId = default,
    [property: Id(11)] TimeSpan AttemptTimeout = default);

/// <summary>A payment the gateway wants to make for a session, in atomic units.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.PaymentQuote")]
public sealed record PaymentQuote(
    [property: Id(0)] string Network,
    [property: Id(1)] string Asset,
    [property: Id(2)] string Symbol,
    [property: Id(3)] int Decimals,
    [property: Id(4)] string AmountAtomic,
    [property: Id(5)] string PayTo,
    [property: Id(6)] string ResourceUrl,
    [property: Id(7)] string Wallet = "",
    [property: Id(8)] string? AgentDailyLimitAtomic = null,
    [property: Id(9)] string? WalletDailyLimitAtomic = null,
    [property: Id(10)] string? Scheme = null)
{
    /// <summary>The <c>upto</c> scheme's name (<see cref="Scheme"/>; null means <c>exact</c>).</summary>
    public const string Upto = "upto";

    /// <summary>The <c>batch-settlement</c> scheme's name (<see cref="Scheme"/>).</summary>
    public const string BatchSettlement = "batch-settlement";

    /// <summary>Whether this pays with <c>upto</c>: <see cref="AmountAtomic"/> is the maximum authorised, the server charges at most it.</summary>
    public bool IsUpto => Scheme == Upto;

    /// <summary>Whether this pays by a channel voucher: <see cref="AmountAtomic"/> is the request's maximum, the server charges at most it.</summary>
    public bool IsBatchSettlement => Scheme == BatchSettlement;

    /// <summary>
    /// The receipt of this payment once settled: for <c>upto</c>, <paramref name="chargedAtomic"/> is what the server reported
    /// (the receipt's amount) and <see cref="AmountAtomic"/> its maximum; for <c>exact</c>, the amount.
    /// </summary>
    public PaymentReceipt ToReceipt(string payer, string transaction, DateTimeOffset paidAt, bool simulated, string? chargedAtomic = null) =>
        IsUpto || IsBatchSettlement
            ? new(Network, Asset, Symbol, Decimals, Charged(chargedAtomic), PayTo, payer, transaction, paidAt, simulated, AmountAtomic, Scheme)
            : new(Network, Asset, Symbol, Decimals, AmountAtomic, PayTo, payer, transaction, paidAt, simulated);

    // What an upto server reports charging, held to the maximum (none or unreadable: the maximum).
    private string Charged(string? reported)
    {
        var maximum = System.Numerics.BigInteger.Parse(AmountAtomic, System.Globalization.CultureInfo.InvariantCulture);
        return System.Numerics.BigInteger.TryParse(reported, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var charged)
            ? System.Numerics.BigInteger.Min(charged, maximum).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : AmountAtomic;
    }
}

/// <summary>The grain's answer to a payment request.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.PaymentDecision")]
public sealed record PaymentDecision(
    [property: Id(0)] bool Approved,
    [property: Id(1)] Guid ReservationId,
    [property: Id(2)] SessionErrorCode Error,
    [property: Id(3)] string Message,
    [property: Id(4)] SignedPayment? Payment = null);

/// <summary>
/// A payment the silo signed for a session: the header to send, what it pays, and when it stops being valid. Recorded by the
/// session as pending before this leaves the silo.
/// </summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.SignedPayment")]
public sealed record SignedPayment(
    [property: Id(0)] string HeaderName,
    [property: Id(1)] string HeaderValue,
    [property: Id(2)] PaymentQuote Quote,
    [property: Id(3)] string Nonce,
    [property: Id(4)] DateTimeOffset ValidBefore,
    [property: Id(5)] bool SignInWithXOffered);

/// <summary>A 402 challenge as the server sent it, for the session grain to select from and sign.</summary>
/// <param name="Encoded">The <c>PAYMENT-REQUIRED</c> header value (base64 JSON) or, for V1, the 402 body.</param>
/// <param name="InHeader">Whether <paramref name="Encoded"/> is the header.</param>
/// <param name="RequestUrl">The URL the 402 answered (resource fallback; must be within the session's scope).</param>
/// <param name="AttemptId">For a starting session, the start attempt that holds the session's lease.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.PaymentChallenge")]
public sealed record PaymentChallenge(
    [property: Id(0)] string Encoded,
    [property: Id(1)] bool InHeader,
    [property: Id(2)] string RequestUrl,
    [property: Id(3)] Guid AttemptId = default);

/// <summary>A sign-in-with-x challenge (the extension's JSON) to prove, for a URL within the session's scope.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.SignInRequest")]
public sealed record SignInRequest(
    [property: Id(0)] string ExtensionJson,
    [property: Id(1)] string ResponseUrl);

/// <summary>A signed sign-in-with-x proof (no key material: the header value is the public proof).</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.SignInProof")]
public sealed record SignInProof(
    [property: Id(0)] bool Signed,
    [property: Id(1)] string Message,
    [property: Id(2)] string HeaderValue = "",
    [property: Id(3)] string Address = "",
    [property: Id(4)] string ChainId = "",
    [property: Id(5)] string Nonce = "",
    [property: Id(6)] DateTimeOffset? IssuedAt = null,
    [property: Id(7)] DateTimeOffset? ExpiresAt = null);

/// <summary>What the next step of a start is.</summary>
[Alias("X402Orleans.Abstractions.StartStepKind")]
public enum StartStepKind
{
    /// <summary>A new attempt holds the start: send the first request.</summary>
    Proceed = 0,

    /// <summary>A payment of an earlier attempt is pending: resend exactly <see cref="StartStep.Resend"/> (it can settle only once).</summary>
    Resend = 1,

    /// <summary>The session is active (a replay of a finished start).</summary>
    Done = 2,

    /// <summary>Another attempt holds the start until <see cref="StartStep.RetryAfter"/>.</summary>
    Busy = 3,

    /// <summary>The start is refused or failed for good (the message says why, including a payment whose state is unknown).</summary>
    Refused = 4,
}

/// <summary>The session grain's answer to <c>BeginStart</c>.</summary>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.StartStep")]
public sealed record StartStep(
    [property: Id(0)] StartStepKind Kind,
    [property: Id(1)] string Message,
    [property: Id(2)] SessionSnapshot? Session = null,
    [property: Id(3)] SignedPayment? Resend = null,
    [property: Id(4)] Guid ResendReservationId = default,
    [property: Id(5)] DateTimeOffset? RetryAfter = null);

/// <summary>A settled (or simulated) payment.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.PaymentReceipt")]
public sealed record PaymentReceipt(
    [property: Id(0)] string Network,
    [property: Id(1)] string Asset,
    [property: Id(2)] string Symbol,
    [property: Id(3)] int Decimals,
    [property: Id(4)] string AmountAtomic,
    [property: Id(5)] string PayTo,
    [property: Id(6)] string Payer,
    [property: Id(7)] string Transaction,
    [property: Id(8)] DateTimeOffset PaidAt,
    [property: Id(9)] bool Simulated,
    [property: Id(10)] string? MaximumAtomic = null,
    [property: Id(11)] string? Scheme = null,
    [property: Id(12)] string? DepositAtomic = null,
    [property: Id(13)] string? ChannelRemainingAtomic = null);

/// <summary>What a payment attempt ended in.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.PaymentOutcome")]
public sealed record PaymentOutcome(
    [property: Id(0)] Guid ReservationId,
    [property: Id(1)] bool Settled,
    [property: Id(2)] PaymentReceipt? Receipt,
    [property: Id(3)] string? FailureReason,
    [property: Id(4)] bool MayHaveSettled = false,
    [property: Id(5)] bool AlreadySettled = false,
    [property: Id(6)] bool Unanswered = false);

/// <summary>Permission for one call through a session.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.CallTicket")]
public sealed record CallTicket(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] SessionErrorCode Error,
    [property: Id(2)] string Message,
    [property: Id(3)] string Url,
    [property: Id(4)] ReuseMode Reuse,
    [property: Id(5)] string? ResourceUrl,
    [property: Id(6)] string MaxPayment,
    [property: Id(7)] bool AllowRepeatPayments,
    [property: Id(8)] string Endpoint,
    [property: Id(9)] string Scope,
    [property: Id(10)] long CallCount = 0);

/// <summary>
/// How a call through a session went. <see cref="CallId"/> (the gateway's id of this one call) makes recording it idempotent:
/// the gateway may resend the same outcome after a failover without the call being counted twice.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.CallOutcome")]
public sealed record CallOutcome(
    [property: Id(0)] bool Delivered,
    [property: Id(1)] int Status,
    [property: Id(2)] ReuseMode ObservedReuse,
    [property: Id(3)] string? ResourceUrl,
    [property: Id(4)] Guid CallId = default);

/// <summary>A read-only view of a session.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.SessionSnapshot")]
public sealed record SessionSnapshot(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] string AgentId,
    [property: Id(2)] string Endpoint,
    [property: Id(3)] string Scope,
    [property: Id(4)] string? Label,
    [property: Id(5)] SessionStatus Status,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset ExpiresAt,
    [property: Id(8)] DateTimeOffset? EndedAt,
    [property: Id(9)] long CallCount,
    [property: Id(10)] DateTimeOffset? LastUsedAt,
    [property: Id(11)] ReuseMode Reuse,
    [property: Id(12)] IReadOnlyList<PaymentReceipt> Payments,
    [property: Id(13)] string MaxPayment,
    [property: Id(14)] string? ResourceUrl,
    [property: Id(15)] IReadOnlyList<AssetTotal>? Totals = null,
    [property: Id(16)] SessionChannel? Channel = null,
    [property: Id(17)] IReadOnlyList<SessionChannel>? Channels = null)
{
    /// <summary>
    /// Every batch-settlement channel the session paid through (its agent's pool with the payee: parallel calls take one channel
    /// each); <see cref="Channel"/> is the first of them.
    /// </summary>
    public IReadOnlyList<SessionChannel> AllChannels => Channels ?? (Channel is null ? [] : [Channel]);

    /// <summary>What the session paid in total per asset (every payment, also those whose receipts are no longer kept).</summary>
    public IReadOnlyList<AssetTotal> PaidTotals => Totals ?? [];
}

/// <summary>A session's total spend in one asset.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.AssetTotal")]
public sealed record AssetTotal(
    [property: Id(0)] string Network,
    [property: Id(1)] string Asset,
    [property: Id(2)] string Symbol,
    [property: Id(3)] int Decimals,
    [property: Id(4)] string AmountAtomic,
    [property: Id(5)] long Payments)
{
    /// <summary>Whether this total is for the asset <paramref name="asset"/> on <paramref name="network"/>.</summary>
    public bool Is(string network, string asset) => Network == network && string.Equals(Asset, asset, StringComparison.OrdinalIgnoreCase);

    /// <summary>This total with one more payment of <paramref name="amount"/> atomic units.</summary>
    public AssetTotal Add(System.Numerics.BigInteger amount) =>
        this with { AmountAtomic = (System.Numerics.BigInteger.Parse(AmountAtomic, System.Globalization.CultureInfo.InvariantCulture) + amount).ToString(System.Globalization.CultureInfo.InvariantCulture), Payments = Payments + 1 };
}

/// <summary>A session operation's result: a snapshot, or an error code and message an agent can act on.</summary>
[GenerateSerializer, Immutable]
[Alias("X402Orleans.Abstractions.SessionResult")]
public sealed record SessionResult(
    [property: Id(0)] SessionSnapshot? Session,
    [property: Id(1)] SessionErrorCode Error,
    [property: Id(2)] string Message)
{
    /// <summary>True when the operation succeeded.</summary>
    public bool Succeeded => Error == SessionErrorCode.None;

    /// <summary>Success with a snapshot.</summary>
    public static SessionResult Ok(SessionSnapshot session, string message = "") => new(session, SessionErrorCode.None, message);

    /// <summary>Failure.</summary>
    public static SessionResult Fail(SessionErrorCode error, string message, SessionSnapshot? session = null) => new(session, error, message);
}

/// <summary>
/// The batch-settlement channel a session pays through, as the session sees it: the channel's own numbers (shared by every session of
/// the wallet on that payee) and what this session was charged. Amounts are atomic integer strings.
/// </summary>
/// <param name="Key">The channel grain's key (<c>{network}/{channelId}</c>).</param>
/// <param name="Network">CAIP-2 network.</param>
/// <param name="Asset">Token address.</param>
/// <param name="Symbol">Token symbol.</param>
/// <param name="Decimals">Token decimals.</param>
/// <param name="ChannelId">The channel id.</param>
/// <param name="Phase">open, stopped or refunded.</param>
/// <param name="DepositedAtomic">Deposits confirmed by the server.</param>
/// <param name="ChargedAtomic">The channel's charged total (every session on it).</param>
/// <param name="RemainingAtomic">Deposited balance not yet charged.</param>
/// <param name="SessionChargedAtomic">What this session's vouchers were charged.</param>
/// <param name="RefundDue">The session ended as the channel's last live session: its gateway asks the server for the cooperative refund.</param>
/// <param name="Note">What happened to the channel at the end (refund requested, refunded, kept for other live sessions), if anything.</param>
/// <param name="PoolIndex">Its number in the agent's pool of channels with the payee (0: the first).</param>
/// <param name="HighestSignedAtomic">The highest voucher ceiling the channel ever signed: the most the server could ever claim from it.</param>
/// <param name="ClaimedAtomic">What the server has claimed from the channel, as last read on chain (null: never read).</param>
/// <param name="ClaimedSeenAt">When it was read.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.SessionChannel")]
public sealed record SessionChannel(
    [property: Id(0)] string Key,
    [property: Id(1)] string Network,
    [property: Id(2)] string Asset,
    [property: Id(3)] string Symbol,
    [property: Id(4)] int Decimals,
    [property: Id(5)] string ChannelId,
    [property: Id(6)] string Phase,
    [property: Id(7)] string DepositedAtomic,
    [property: Id(8)] string ChargedAtomic,
    [property: Id(9)] string RemainingAtomic,
    [property: Id(10)] string SessionChargedAtomic,
    [property: Id(11)] bool RefundDue = false,
    [property: Id(12)] string? Note = null,
    [property: Id(13)] int PoolIndex = 0,
    [property: Id(14)] string HighestSignedAtomic = "0",
    [property: Id(15)] string? ClaimedAtomic = null,
    [property: Id(16)] DateTimeOffset? ClaimedSeenAt = null);

/// <summary>What the server answered to a channel payment (voucher, deposit or refund) the gateway sent.</summary>
[Alias("X402Orleans.Abstractions.ChannelAnswerKind")]
public enum ChannelAnswerKind
{
    /// <summary>A response with a <c>PAYMENT-RESPONSE</c> header (<see cref="ChannelAnswer.Value"/>).</summary>
    Receipt,

    /// <summary>A 402 (<see cref="ChannelAnswer.Value"/>: its JSON), corrective or not.</summary>
    Challenge,

    /// <summary>An answer without a receipt: nothing was charged.</summary>
    Rejected,

    /// <summary>The payment never left the gateway.</summary>
    NotSent,

    /// <summary>No answer (timeout, connection lost): the charge is unknown.</summary>
    Unanswered,
}

/// <summary>The server's answer to a channel payment, for the session grain to check through the channel grain.</summary>
/// <param name="RequestId">The channel request (<see cref="PaymentDecision.ReservationId"/> of the payment).</param>
/// <param name="Kind">What came back.</param>
/// <param name="Value">The <c>PAYMENT-RESPONSE</c> header value, or the 402's JSON.</param>
/// <param name="Reason">Why it failed, for the log.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelAnswer")]
public sealed record ChannelAnswer(
    [property: Id(0)] Guid RequestId,
    [property: Id(1)] ChannelAnswerKind Kind,
    [property: Id(2)] string? Value = null,
    [property: Id(3)] string? Reason = null);

/// <summary>What a channel answer came to.</summary>
/// <param name="Paid">The server accepted the payment and its charge passed the checks (<see cref="Receipt"/>).</param>
/// <param name="Message">Why not, for the agent.</param>
/// <param name="Receipt">What this request was charged (and deposited), with the channel's remaining balance.</param>
/// <param name="Retry">A corrective 402 was adopted: send this payment (signed on the server's charged total) instead, once.</param>
[GenerateSerializer, Immutable, Alias("X402Orleans.Abstractions.ChannelAnswerResult")]
public sealed record ChannelAnswerResult(
    [property: Id(0)] bool Paid,
    [property: Id(1)] string Message,
    [property: Id(2)] PaymentReceipt? Receipt = null,
    [property: Id(3)] PaymentDecision? Retry = null);
