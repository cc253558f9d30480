using System.Globalization;
using X402Orleans.Payments;
using X402Orleans.Payments.Policy;

namespace X402Orleans.Grains.Payments;

/// <summary>
/// What the silo's wallet may pay, read by the grains themselves (silo side, from the silo's configuration), never taken from
/// a caller: allowed networks and assets, the default per-payment ceiling, and the daily limits per agent and per wallet. Limits
/// are decimal strings in an asset's units (null: none).
/// </summary>
public sealed record PaymentRules
{
    /// <summary>No limits, the default assets (used where a silo registers no rules, e.g. unit tests).</summary>
    public static readonly PaymentRules Default = new();

    /// <summary>
    /// Networks, assets, schemes and the default max_payment. The silo's default pays <c>exact</c>, <c>upto</c> and
    /// <c>batch-settlement</c> (in that order of preference at the same price): an upto payment's maximum is held to max_payment and
    /// reserved in full, and a channel's deposit is capped and reserved before it is signed, so neither costs more than the budgets allow.
    /// </summary>
    public PaymentPolicy Policy { get; init; } = PaymentPolicy.Default.WithUpto().WithBatchSettlement();

    /// <summary>
    /// The largest batch-settlement deposit a channel signs, in the asset's units (null: 5 × the session's max_payment, as the
    /// official client). Each deposit is reserved against the daily budgets before it is signed.
    /// </summary>
    public string? ChannelDepositCap { get; init; }

    /// <summary>
    /// How many batch-settlement channels one agent may have with one payee for parallel calls (<c>X402:Payments:ChannelPoolSize</c>):
    /// a call takes the lowest-numbered free one; each channel opened needs its own deposit.
    /// </summary>
    public int ChannelPoolSize { get; init; } = 4;

    /// <summary>
    /// The bound of a chain read inside a grain turn (a recovery read, Permit2's allowance before a signature): the one kind of
    /// remote I/O a turn may wait on.
    /// </summary>
    public static readonly TimeSpan ChainReadTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The largest <see cref="ChannelPoolSize"/> a silo accepts (<c>X402:Payments:ChannelPoolSize</c> is validated against it).</summary>
    public const int MaxChannelPoolSize = 16;

    /// <summary>
    /// The highest fee per gas (wei) the silo signs into a channel withdraw transaction (<c>X402:Payments:WithdrawMaxFeePerGas</c>,
    /// default 500 gwei): the fees are read by the gateway, which the silo does not trust with the wallet's ETH.
    /// </summary>
    public System.Numerics.BigInteger WithdrawMaxFeePerGas { get; init; } = 500_000_000_000;

    /// <summary>Daily limit of an agent without its own.</summary>
    public string? AgentDailyLimit { get; init; }

    /// <summary>Daily limits of named agents.</summary>
    public IReadOnlyDictionary<string, string?> AgentDailyLimits { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Daily limit of the whole wallet, across agents.</summary>
    public string? WalletDailyLimit { get; init; }

    /// <summary>JSON-RPC endpoints per CAIP-2 network, used to read an authorization's on-chain state when resolving a payment.</summary>
    public IReadOnlyDictionary<string, Uri> RpcEndpoints { get; init; } = new Dictionary<string, Uri>(StringComparer.Ordinal);

    /// <summary>The daily limit of <paramref name="agentId"/>, in atomic units of an asset with <paramref name="decimals"/>.</summary>
    public string? AgentLimitAtomic(string agentId, int decimals) =>
        Atomic(AgentDailyLimits.TryGetValue(agentId, out var own) && own is not null ? own : AgentDailyLimit, decimals);

    /// <summary>The wallet's daily limit in atomic units of an asset with <paramref name="decimals"/>.</summary>
    public string? WalletLimitAtomic(int decimals) => Atomic(WalletDailyLimit, decimals);

    /// <summary>The channel deposit cap in atomic units of an asset with <paramref name="decimals"/> (null: the channel's default).</summary>
    public string? ChannelDepositCapAtomic(int decimals) => Atomic(ChannelDepositCap, decimals);

    private static string? Atomic(string? limit, int decimals) =>
        limit is not null && AtomicAmount.TryParseDecimal(limit, decimals, out var atomic, out _) ? atomic.ToString(CultureInfo.InvariantCulture) : null;
}
