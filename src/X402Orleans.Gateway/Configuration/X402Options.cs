using System.ComponentModel.DataAnnotations;

namespace X402Orleans.Gateway.Configuration;

/// <summary>Everything under the <c>X402</c> configuration section (environment: <c>X402__…</c>).</summary>
public sealed class X402Options
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "X402";

    /// <summary>The paying wallet.</summary>
    public WalletOptions Wallet { get; set; } = new();

    /// <summary>Agents allowed to use the gateway (none: one anonymous agent, loopback only).</summary>
    public List<AgentOptions> Agents { get; set; } = [];

    /// <summary>What the wallet may pay with.</summary>
    public PaymentOptions Payments { get; set; } = new();

    /// <summary>Outbound HTTP limits and safety.</summary>
    public HttpOptions Http { get; set; } = new();

    /// <summary>Session defaults.</summary>
    public SessionOptions Sessions { get; set; } = new();

    /// <summary>The built-in demo paywall.</summary>
    public DemoOptions Demo { get; set; } = new();

    /// <summary>The operator console (off unless an operator key is configured).</summary>
    public AdminOptions Admin { get; set; } = new();
}

/// <summary>
/// Operators of the console at <c>/console</c>: <see cref="ApiKey"/> for one (named "admin"), <see cref="Operators"/> for several.
/// No key configured: no console (404). Agent keys never open it.
/// </summary>
public sealed class AdminOptions
{
    /// <summary>The smallest operator key length.</summary>
    public const int MinKeyLength = 32;

    /// <summary>One operator's key (environment <c>X402__Admin__ApiKey</c>), at least 32 characters; the operator is named "admin".</summary>
    public string? ApiKey { get; set; }

    /// <summary>Named operators (<c>X402__Admin__Operators__0__Name</c> / <c>__ApiKey</c>).</summary>
    public List<OperatorOptions> Operators { get; set; } = [];

    /// <summary>Whether any operator is configured (the console is served only then).</summary>
    public bool Enabled => !string.IsNullOrEmpty(ApiKey) || Operators.Count > 0;

    /// <inheritdoc />
    public override string ToString() => $"AdminOptions(key: {(ApiKey is null ? "none" : "set")}, operators: {Operators.Count})";
}

/// <summary>One named operator.</summary>
public sealed class OperatorOptions
{
    /// <summary>The operator's name, shown in the audit trail (letters, digits, <c>-_.@</c>; at most 64).</summary>
    [Required, RegularExpression("^[A-Za-z0-9_.@-]{1,64}$")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The operator's key (at least 32 characters).</summary>
    [Required, MinLength(AdminOptions.MinKeyLength)]
    public string ApiKey { get; set; } = string.Empty;

    /// <inheritdoc />
    public override string ToString() => $"OperatorOptions({Name})";
}

/// <summary>Wallet key source. The key itself is never logged or returned.</summary>
public sealed class WalletOptions
{
    /// <summary>Hex private key (prefer <see cref="PrivateKeyFile"/> or a secret store).</summary>
    public string? PrivateKey { get; set; }

    /// <summary>Path of a file holding the hex private key.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>Path of an encrypted Ethereum keystore (Web3 Secret Storage v3 JSON, scrypt or PBKDF2).</summary>
    public string? KeystoreFile { get; set; }

    /// <summary>Path of a file holding the keystore password (trailing line breaks ignored).</summary>
    public string? KeystorePasswordFile { get; set; }

    /// <summary>The keystore password (prefer <see cref="KeystorePasswordFile"/>; environment <c>X402__Wallet__KeystorePassword</c>).</summary>
    public string? KeystorePassword { get; set; }

    /// <inheritdoc />
    public override string ToString() =>
        PrivateKey is not null ? "WalletOptions(key: set)"
        : KeystoreFile is not null ? $"WalletOptions(keystore: {KeystoreFile})"
        : $"WalletOptions(file: {PrivateKeyFile ?? "none"})";
}

/// <summary>One agent: an id and the API key it presents as <c>Authorization: Bearer …</c>.</summary>
public sealed class AgentOptions
{
    /// <summary>Agent id (letters, digits, <c>-_.</c>; at most 64).</summary>
    [Required, RegularExpression("^[A-Za-z0-9_.-]{1,64}$")]
    public string Id { get; set; } = string.Empty;

    /// <summary>API key (at least 16 characters).</summary>
    [Required, MinLength(16)]
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Most this agent may spend per UTC day and asset, in the asset's units (null: <see cref="PaymentOptions.AgentDailyLimit"/>).</summary>
    [RegularExpression(AmountText.Pattern)]
    public string? DailyLimit { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"AgentOptions({Id})";
}

/// <summary>Payment policy defaults.</summary>
public sealed class PaymentOptions
{
    /// <summary>Allowed CAIP-2 networks (default Base and Base Sepolia).</summary>
    public List<string> Networks { get; set; } = [];

    /// <summary>Allowed assets (default USDC on Base and Base Sepolia).</summary>
    public List<AssetOptions> Assets { get; set; } = [];

    /// <summary>
    /// Schemes the silo pays with, in order of preference at the same price: <c>exact</c>, <c>upto</c> and/or <c>batch-settlement</c>
    /// (empty: all three, in that order). An upto payment authorises a maximum (held to max_payment and reserved in full) and commits
    /// what the server charged; a batch-settlement session deposits once into a channel (capped by <see cref="ChannelDepositCap"/>,
    /// reserved against the daily budgets) and pays each call by voucher, committing what the server charged.
    /// </summary>
    public List<string> Schemes { get; set; } = [];

    /// <summary>
    /// Largest deposit a batch-settlement channel signs, in the asset's units (null: 5 × the session's max_payment, as the official
    /// client). A server's larger <c>minDeposit</c> is capped to it; a channel that needs more is refused.
    /// </summary>
    [RegularExpression(AmountText.Pattern)]
    public string? ChannelDepositCap { get; set; }

    /// <summary>
    /// How many batch-settlement channels one agent may open with one payee, for its parallel calls (1–16, default 4). A channel
    /// carries one request at a time: a call takes the agent's lowest-numbered free channel and opens channel <c>i</c> only while
    /// channels 0 … i−1 are all busy. Each channel opened needs its own deposit (capped by <see cref="ChannelDepositCap"/>, reserved
    /// against the daily budgets); a call finding every channel busy is refused, naming this setting.
    /// </summary>
    [Range(1, 16)]
    public int ChannelPoolSize { get; set; } = 4;

    /// <summary>
    /// The highest fee per gas, in wei (an integer), the silo signs into a channel withdraw transaction (<c>x402_channel_withdraw</c>):
    /// the fees come from the gateway's read of the node, so this bounds what a misreporting gateway or node can make the wallet pay
    /// (at most 1 000 000 gas × this). Default 500 gwei.
    /// </summary>
    [RegularExpression("^[0-9]{1,30}$")]
    public string WithdrawMaxFeePerGas { get; set; } = "500000000000";

    /// <summary>Default per-payment ceiling in the asset's units, e.g. "0.10".</summary>
    [Required, RegularExpression(AmountText.Pattern)]
    public string MaxPayment { get; set; } = "0.10";

    /// <summary>Default ceiling on one session's total spend per asset (null: none; a start may set max_total).</summary>
    [RegularExpression(AmountText.Pattern)]
    public string? SessionLimit { get; set; }

    /// <summary>Default daily limit per agent and asset for agents without their own (null: none).</summary>
    [RegularExpression(AmountText.Pattern)]
    public string? AgentDailyLimit { get; set; }

    /// <summary>Daily limit of the whole wallet per asset, across all agents (null: none).</summary>
    [RegularExpression(AmountText.Pattern)]
    public string? WalletDailyLimit { get; set; }

    /// <summary>
    /// Optional JSON-RPC endpoints per network. With one, a payment whose outcome a crash left unknown is resolved from the chain
    /// (the token's <c>authorizationState</c>); without, by resending the same signed payment while it is valid.
    /// </summary>
    public List<RpcOptions> Rpc { get; set; } = [];
}

/// <summary>
/// A JSON-RPC endpoint of one network: reads (<c>eth_call</c>, <c>eth_getLogs</c>) to resolve payments, and the one kind of
/// transaction the wallet sends itself, a batch-settlement channel's unilateral withdraw (<c>x402_channel_withdraw</c>).
/// </summary>
public sealed class RpcOptions
{
    /// <summary>CAIP-2 network, e.g. eip155:8453.</summary>
    [Required]
    public string Network { get; set; } = string.Empty;

    /// <summary>http(s) URL of the node.</summary>
    [Required]
    public string Url { get; set; } = string.Empty;
}

/// <summary>Shapes of configuration values.</summary>
internal static class AmountText
{
    /// <summary>A plain decimal amount in an asset's units.</summary>
    public const string Pattern = @"^[0-9]{1,30}(\.[0-9]{1,18})?$";
}

/// <summary>An allowed asset.</summary>
public sealed class AssetOptions
{
    /// <summary>CAIP-2 network.</summary>
    [Required]
    public string Network { get; set; } = string.Empty;

    /// <summary>Token contract address.</summary>
    [Required]
    public string Address { get; set; } = string.Empty;

    /// <summary>Decimals of the atomic unit.</summary>
    [Range(0, 36)]
    public int Decimals { get; set; } = 6;

    /// <summary>Display symbol.</summary>
    [Required]
    public string Symbol { get; set; } = "USDC";
}

/// <summary>Outbound HTTP settings.</summary>
public sealed class HttpOptions
{
    /// <summary>Allow loopback, private and link-local targets (tests and local demos).</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>Characters of a response body returned to the agent.</summary>
    [Range(256, 1_000_000)]
    public int MaxBodyChars { get; set; } = 8000;

    /// <summary>Bytes of a response read from upstream (the rest is not read).</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 1024 * 1024;

    /// <summary>Bytes of a request body an agent may send.</summary>
    [Range(0, 16 * 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 256 * 1024;

    /// <summary>Redirects followed (each must stay inside the session's scope).</summary>
    [Range(0, 10)]
    public int MaxRedirects { get; set; } = 3;

    /// <summary>Default request timeout.</summary>
    [Range(1000, 60000)]
    public int DefaultTimeoutMs { get; set; } = 30000;
}

/// <summary>Session defaults.</summary>
public sealed class SessionOptions
{
    /// <summary>Default time to live.</summary>
    [Range(60, 2592000)]
    public int DefaultTtlSeconds { get; set; } = 3600;

    /// <summary>Smallest <c>ttl_seconds</c> a start accepts (60). Lower it only for test clusters that must watch sessions expire.</summary>
    [Range(1, 60)]
    public int MinTtlSeconds { get; set; } = 60;
}

/// <summary>The demo paywall under <c>/demo/</c>.</summary>
public sealed class DemoOptions
{
    /// <summary>Mount it (default on in the embedded mode).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Recipient of demo payments.</summary>
    public string PayTo { get; set; } = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
}
