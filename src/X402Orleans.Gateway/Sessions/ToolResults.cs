using System.ComponentModel;
using System.Text.Json.Serialization;

namespace X402Orleans.Gateway.Sessions;

/// <summary>A payment made for a session.</summary>
public sealed record PaymentInfo(
    [property: JsonPropertyName("amount"), Description("Amount in the asset's units, e.g. \"0.001\".")] string Amount,
    [property: JsonPropertyName("amount_atomic"), Description("Amount in atomic units (integer string).")] string AmountAtomic,
    [property: JsonPropertyName("asset"), Description("Token contract address.")] string Asset,
    [property: JsonPropertyName("symbol"), Description("Token symbol.")] string Symbol,
    [property: JsonPropertyName("network"), Description("CAIP-2 network.")] string Network,
    [property: JsonPropertyName("pay_to"), Description("Recipient address.")] string PayTo,
    [property: JsonPropertyName("payer"), Description("Paying wallet address.")] string Payer,
    [property: JsonPropertyName("transaction"), Description("Settlement transaction hash as reported by the server (empty if none).")] string Transaction,
    [property: JsonPropertyName("simulated"), Description("True when the server said settlement was simulated (demo paywall).")] bool Simulated,
    [property: JsonPropertyName("scheme"), Description("exact (the price), upto (amount = what the server charged, at most maximum) or batch-settlement (amount = what the server charged this call from the channel, at most maximum).")] string Scheme = "exact",
    [property: JsonPropertyName("maximum"), Description("upto and batch-settlement: the most this payment could cost, in the asset's units (null for exact).")] string? Maximum = null,
    [property: JsonPropertyName("maximum_atomic"), Description("upto and batch-settlement: the maximum in atomic units.")] string? MaximumAtomic = null,
    [property: JsonPropertyName("deposit"), Description("batch-settlement only: the deposit this call made into the channel (the first call), in the asset's units; null when none.")] string? Deposit = null,
    [property: JsonPropertyName("channel_remaining"), Description("batch-settlement only: the channel's deposited balance not yet charged after this call, in the asset's units.")] string? ChannelRemaining = null);

/// <summary>The batch-settlement channel a session pays through.</summary>
public sealed record ChannelInfo(
    [property: JsonPropertyName("channel_id"), Description("The channel id (bytes32).")] string ChannelId,
    [property: JsonPropertyName("network"), Description("CAIP-2 network.")] string Network,
    [property: JsonPropertyName("symbol"), Description("Token symbol.")] string Symbol,
    [property: JsonPropertyName("asset"), Description("Token contract address.")] string Asset,
    [property: JsonPropertyName("phase"), Description("open, stopped (a server answer failed a check: no more vouchers), refunded, withdrawing (a unilateral withdraw is under way: no more vouchers) or withdrawn (see x402_channel_withdraw).")] string Phase,
    [property: JsonPropertyName("deposit"), Description("Deposits into the channel confirmed by the server.")] string Deposit,
    [property: JsonPropertyName("charged"), Description("The channel's charged total (every session of this wallet on this payee).")] string Charged,
    [property: JsonPropertyName("remaining"), Description("Deposited balance not yet charged.")] string Remaining,
    [property: JsonPropertyName("session_charged"), Description("What this session's calls were charged.")] string SessionCharged,
    [property: JsonPropertyName("highest_signed"), Description("The highest voucher ceiling the channel ever signed: the most the server could claim from it (every voucher is stored before it is sent, so this survives a crash).")] string HighestSigned,
    [property: JsonPropertyName("note"), Description("At the end: refunded …, no refund (other live sessions use the channel, or nothing left), or why the refund failed.")] string? Note,
    [property: JsonPropertyName("pool_index"), Description("Its number in the agent's pool of channels with this payee (0: the first; parallel calls take one channel each).")] int PoolIndex = 0,
    [property: JsonPropertyName("claimed"), Description("What the server has claimed from the channel on chain (its totalClaimed), as last read there (by x402_channel_withdraw, or when a lost refund is resolved); null when never read.")] string? Claimed = null,
    [property: JsonPropertyName("claimed_seen_at"), Description("ISO-8601: when claimed was read on chain.")] string? ClaimedSeenAt = null);

/// <summary>A response from the upstream server, as shown to the agent.</summary>
public sealed record ResponseInfo(
    [property: JsonPropertyName("status"), Description("HTTP status.")] int Status,
    [property: JsonPropertyName("content_type"), Description("Content-Type header, if any.")] string? ContentType,
    [property: JsonPropertyName("headers"), Description("Selected response headers.")] IReadOnlyDictionary<string, string> Headers,
    [property: JsonPropertyName("body"), Description("Response body (text; base64 for binary types), possibly truncated.")] string Body,
    [property: JsonPropertyName("body_encoding"), Description("\"text\" or \"base64\".")] string BodyEncoding,
    [property: JsonPropertyName("truncated"), Description("Whether the body was cut to the configured size.")] bool Truncated);

/// <summary>Output of x402_session_start.</summary>
public sealed record StartResult(
    [property: JsonPropertyName("session_id"), Description("Id to pass to the other session tools.")] string SessionId,
    [property: JsonPropertyName("endpoint"), Description("Normalised endpoint URL.")] string Endpoint,
    [property: JsonPropertyName("scope"), Description("prefix or exact.")] string Scope,
    [property: JsonPropertyName("label"), Description("Caller's label.")] string? Label,
    [property: JsonPropertyName("expires_at"), Description("ISO-8601 expiry.")] string ExpiresAt,
    [property: JsonPropertyName("reuse"), Description("How later calls get access: sign-in-with-x, pay-per-call or free.")] string Reuse,
    [property: JsonPropertyName("sign_in_with_x_offered"), Description("Whether the server offers sign-in-with-x for reuse.")] bool SignInWithXOffered,
    [property: JsonPropertyName("payment"), Description("The payment made, or null when none was required.")] PaymentInfo? Payment,
    [property: JsonPropertyName("payment_note"), Description("\"paid\", \"paid (settled by an earlier attempt of this start; …)\", \"no payment required\" or \"access by sign-in-with-x (already paid)\" (see docs/tools.md).")] string PaymentNote,
    [property: JsonPropertyName("response"), Description("The first response.")] ResponseInfo Response,
    [property: JsonPropertyName("idempotent_replay"), Description("True when an earlier start with the same idempotency_key is returned.")] bool IdempotentReplay);

/// <summary>Output of x402_session_fetch.</summary>
public sealed record FetchResult(
    [property: JsonPropertyName("session_id"), Description("Session id.")] string SessionId,
    [property: JsonPropertyName("url"), Description("URL called.")] string Url,
    [property: JsonPropertyName("access"), Description("How access was obtained: sign-in-with-x, paid or free.")] string Access,
    [property: JsonPropertyName("payment"), Description("A payment made by this call, if any.")] PaymentInfo? Payment,
    [property: JsonPropertyName("call_count"), Description("Calls made through the session so far.")] long CallCount,
    [property: JsonPropertyName("status"), Description("HTTP status.")] int Status,
    [property: JsonPropertyName("content_type"), Description("Content-Type header, if any.")] string? ContentType,
    [property: JsonPropertyName("headers"), Description("Selected response headers.")] IReadOnlyDictionary<string, string> Headers,
    [property: JsonPropertyName("body"), Description("Response body, possibly truncated.")] string Body,
    [property: JsonPropertyName("body_encoding"), Description("\"text\" or \"base64\".")] string BodyEncoding,
    [property: JsonPropertyName("truncated"), Description("Whether the body was cut to the configured size.")] bool Truncated);

/// <summary>One session as shown by x402_session_status.</summary>
public sealed record SessionInfo(
    [property: JsonPropertyName("session_id"), Description("Session id.")] string SessionId,
    [property: JsonPropertyName("endpoint"), Description("Endpoint URL.")] string Endpoint,
    [property: JsonPropertyName("scope"), Description("prefix or exact.")] string Scope,
    [property: JsonPropertyName("label"), Description("Caller's label.")] string? Label,
    [property: JsonPropertyName("status"), Description("starting, active, expired, ended or failed.")] string Status,
    [property: JsonPropertyName("created_at"), Description("ISO-8601 creation time.")] string CreatedAt,
    [property: JsonPropertyName("expires_at"), Description("ISO-8601 expiry.")] string ExpiresAt,
    [property: JsonPropertyName("ended_at"), Description("ISO-8601 end time, if ended or expired.")] string? EndedAt,
    [property: JsonPropertyName("call_count"), Description("Calls made.")] long CallCount,
    [property: JsonPropertyName("last_used_at"), Description("ISO-8601 time of the last call.")] string? LastUsedAt,
    [property: JsonPropertyName("reuse"), Description("sign-in-with-x, pay-per-call, free or unknown.")] string Reuse,
    [property: JsonPropertyName("max_payment"), Description("Per-payment ceiling in the asset's units.")] string MaxPayment,
    [property: JsonPropertyName("total_paid"), Description("Total paid per asset.")] IReadOnlyList<AmountInfo> TotalPaid,
    [property: JsonPropertyName("payments"), Description("Payments made.")] IReadOnlyList<PaymentInfo> Payments,
    [property: JsonPropertyName("channel"), Description("batch-settlement sessions: the first channel paid through (deposit, charged, remaining); null otherwise.")] ChannelInfo? Channel = null,
    [property: JsonPropertyName("channels"), Description("batch-settlement sessions: every channel the session paid through (parallel calls each take a free channel of the agent's pool); empty otherwise.")] IReadOnlyList<ChannelInfo>? Channels = null);

/// <summary>An amount of one asset.</summary>
public sealed record AmountInfo(
    [property: JsonPropertyName("amount"), Description("Amount in the asset's units.")] string Amount,
    [property: JsonPropertyName("amount_atomic"), Description("Atomic units.")] string AmountAtomic,
    [property: JsonPropertyName("symbol"), Description("Token symbol.")] string Symbol,
    [property: JsonPropertyName("asset"), Description("Token contract address.")] string Asset,
    [property: JsonPropertyName("network"), Description("CAIP-2 network.")] string Network);

/// <summary>Output of x402_session_status.</summary>
public sealed record StatusResult(
    [property: JsonPropertyName("sessions"), Description("The requested session, or one page of the caller's live sessions, oldest first.")] IReadOnlyList<SessionInfo> Sessions,
    [property: JsonPropertyName("next_cursor"), Description("Pass as cursor to list the next page of live sessions; null when there are no more.")] string? NextCursor = null);

/// <summary>Output of x402_session_end.</summary>
public sealed record EndResult(
    [property: JsonPropertyName("session_id"), Description("Session id.")] string SessionId,
    [property: JsonPropertyName("endpoint"), Description("Endpoint URL.")] string Endpoint,
    [property: JsonPropertyName("outcome"), Description("\"ended\", \"already expired\" or \"already ended\".")] string Outcome,
    [property: JsonPropertyName("call_count"), Description("Calls made through the session.")] long CallCount,
    [property: JsonPropertyName("total_paid"), Description("Total paid per asset.")] IReadOnlyList<AmountInfo> TotalPaid,
    [property: JsonPropertyName("channel"), Description("batch-settlement sessions: the channel after the end; its note says whether the rest was refunded (only when no other live session uses it).")] ChannelInfo? Channel = null,
    [property: JsonPropertyName("refund"), Description("batch-settlement sessions: the amount the cooperative refunds returned to the wallet (all its channels); null when none.")] AmountInfo? Refund = null,
    [property: JsonPropertyName("channels"), Description("batch-settlement sessions: every channel the session paid through, after the end (each note says whether it was refunded).")] IReadOnlyList<ChannelInfo>? Channels = null);
