using System.Numerics;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.Upto;

namespace X402Orleans.Payments.Policy;

/// <summary>A token the wallet is willing to pay with.</summary>
/// <param name="Network">CAIP-2 network, e.g. <c>eip155:84532</c>.</param>
/// <param name="Address">Token contract address (compared case-insensitively).</param>
/// <param name="Decimals">Decimal places of the token's atomic unit.</param>
/// <param name="Symbol">Display symbol, e.g. USDC.</param>
public sealed record AssetInfo(string Network, string Address, int Decimals, string Symbol)
{
    /// <summary>USDC on Base mainnet.</summary>
    public static readonly AssetInfo UsdcBase = new("eip155:8453", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 6, "USDC");

    /// <summary>USDC on Base Sepolia.</summary>
    public static readonly AssetInfo UsdcBaseSepolia = new("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", 6, "USDC");

    /// <summary>Formats an atomic amount in this asset's units, e.g. "0.05 USDC".</summary>
    public string Describe(BigInteger atomic) => $"{AtomicAmount.Format(atomic, Decimals)} {Symbol}";
}

/// <summary>What the wallet accepts to pay: networks, assets and a ceiling per payment (in the asset's units, e.g. "0.01").</summary>
public sealed record PaymentPolicy
{
    /// <summary>The defaults: USDC on Base and Base Sepolia, at most 0.10 per payment.</summary>
    public static readonly PaymentPolicy Default = new()
    {
        Networks = [AssetInfo.UsdcBase.Network, AssetInfo.UsdcBaseSepolia.Network],
        Assets = [AssetInfo.UsdcBase, AssetInfo.UsdcBaseSepolia],
        MaxPayment = "0.10",
    };

    /// <summary>Allowed CAIP-2 networks.</summary>
    public required IReadOnlyList<string> Networks { get; init; }

    /// <summary>Allowed assets.</summary>
    public required IReadOnlyList<AssetInfo> Assets { get; init; }

    /// <summary>Largest single payment, as a decimal string in the asset's units (for <c>upto</c>: the maximum it authorises).</summary>
    public required string MaxPayment { get; init; }

    /// <summary>
    /// Schemes the caller can pay with: <c>exact</c> by default; add <c>upto</c> (<see cref="UptoEvmScheme"/>) only where the
    /// caller signs upto payments and commits the amount the server reports.
    /// </summary>
    public IReadOnlyList<string> Schemes { get; init; } = [ExactEvmScheme.Name];

    /// <summary>Finds the allowed asset a requirement asks for.</summary>
    public AssetInfo? FindAsset(string network, string address) =>
        Assets.FirstOrDefault(a => a.Network == network && EvmAddress.AreEqual(a.Address, address));

    /// <summary>Returns a copy that also pays <c>upto</c> requirements (their maximum within <see cref="MaxPayment"/>).</summary>
    public PaymentPolicy WithUpto() => Schemes.Contains(UptoEvmScheme.Name, StringComparer.Ordinal) ? this : this with { Schemes = [.. Schemes, UptoEvmScheme.Name] };

    /// <summary>
    /// Returns a copy that also pays <c>batch-settlement</c> requirements through a channel (each request's maximum within
    /// <see cref="MaxPayment"/>; the caller keeps the channel's numbers and sizes its deposits).
    /// </summary>
    public PaymentPolicy WithBatchSettlement() =>
        Schemes.Contains(Evm.BatchSettlement.BatchSettlementScheme.Name, StringComparer.Ordinal) ? this : this with { Schemes = [.. Schemes, Evm.BatchSettlement.BatchSettlementScheme.Name] };

    /// <summary>Returns a copy with another per-payment ceiling.</summary>
    public PaymentPolicy WithMaxPayment(string maxPayment) => this with { MaxPayment = maxPayment };
}
