using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Nethereum.Util;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>
/// The payment payloads of the batch-settlement scheme, byte for byte as the official client (<c>@x402/evm</c> 2.27.0) sends them:
/// <c>deposit</c> (an ERC-3009 <c>ReceiveWithAuthorization</c> to the deposit collector plus a voucher), <c>voucher</c> (a voucher
/// alone) and <c>refund</c> (a zero-charge voucher, ceiling = charged total). Stateless: the caller owns the channel's numbers.
/// </summary>
public static class BatchSettlementPayloads
{
    /// <summary>
    /// The ERC-3009 nonce of a deposit: keccak256(abi.encode(bytes32 channelId, uint256 salt)), binding the authorization to the channel;
    /// <paramref name="depositSalt"/> is fresh per deposit (the official client draws 32 random bytes), not the channel's salt.
    /// </summary>
    public static string Erc3009DepositNonce(string channelId, string depositSalt)
    {
        if (!BatchSettlementScheme.IsBytes32(channelId) || !BatchSettlementScheme.IsBytes32(depositSalt))
        {
            throw new ArgumentException("channel id and deposit salt are 32 bytes of hex each");
        }

        var encoded = new byte[64];
        Convert.FromHexString(channelId.AsSpan(2), encoded.AsSpan(0, 32), out _, out _);
        Convert.FromHexString(depositSalt.AsSpan(2), encoded.AsSpan(32), out _, out _);
        return "0x" + Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(encoded));
    }

    /// <summary>The deposit's <c>ReceiveWithAuthorization</c>: from the payer (EIP-55) to the deposit collector, valid until <paramref name="validBefore"/>.</summary>
    public static TransferAuthorization DepositAuthorization(string payer, string channelId, BigInteger amount, long validBefore, string depositSalt) =>
        new(EvmAddress.ToChecksum(payer), BatchSettlementScheme.Erc3009DepositCollector, amount, ExactEvmScheme.ValidAfter, validBefore, Erc3009DepositNonce(channelId, depositSalt));

    /// <summary>
    /// Signs a deposit of <paramref name="depositAmount"/> plus a voucher with ceiling <paramref name="maxClaimableAmount"/>: the
    /// authorization is valid from 0 until now + <c>maxTimeoutSeconds</c>; <paramref name="depositSalt"/> defaults to 32 random bytes.
    /// <paramref name="payer"/> signs the authorization, <paramref name="voucherSigner"/> (default: the payer) the voucher.
    /// </summary>
    /// <exception cref="InvalidOperationException">The requirement is not batch-settlement on EVM with the token's EIP-712 domain, or a signer does not match the configuration.</exception>
    public static async Task<PaymentPayload> CreateDepositAsync(
        PaymentRequired challenge,
        PaymentRequirements requirements,
        ChannelConfig config,
        BigInteger depositAmount,
        BigInteger maxClaimableAmount,
        IPaymentSigner payer,
        TimeProvider time,
        string? depositSalt = null,
        IPaymentSigner? voucherSigner = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payer);
        ArgumentNullException.ThrowIfNull(time);
        Check(challenge, requirements, config, voucherSigner ?? payer);
        if (!Eip3009.HasTokenDomain(requirements, out var why))
        {
            throw new InvalidOperationException(why);
        }

        if (!EvmAddress.AreEqual(payer.Address, config.Payer))
        {
            throw new InvalidOperationException("the deposit signer is not the channel's payer");
        }

        if (depositAmount.Sign <= 0 || depositAmount > AtomicAmount.MaxUint256)
        {
            throw new ArgumentOutOfRangeException(nameof(depositAmount), "a deposit is a positive uint256");
        }

        depositSalt ??= "0x" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var channelId = config.ComputeId(requirements.Network);
        var validBefore = time.GetUtcNow().ToUnixTimeSeconds() + requirements.MaxTimeoutSeconds;
        var authorization = DepositAuthorization(payer.Address, channelId, depositAmount, validBefore, depositSalt);
        var depositSignature = await payer.SignTypedDataAsync(Eip3009.BuildTypedData(Eip3009Kind.ReceiveWithAuthorization, requirements, authorization), cancellationToken).ConfigureAwait(false);
        var voucher = await Voucher.SignAsync(voucherSigner ?? payer, channelId, maxClaimableAmount, requirements.Network, cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["type"] = "deposit",
            ["channelConfig"] = config.ToJson(),
            ["voucher"] = voucher.ToJson(),
            ["deposit"] = new JsonObject
            {
                ["amount"] = depositAmount.ToString(CultureInfo.InvariantCulture),
                ["authorization"] = new JsonObject
                {
                    ["erc3009Authorization"] = new JsonObject
                    {
                        ["validAfter"] = authorization.ValidAfter.ToString(CultureInfo.InvariantCulture),
                        ["validBefore"] = authorization.ValidBefore.ToString(CultureInfo.InvariantCulture),
                        ["salt"] = depositSalt,
                        ["signature"] = depositSignature,
                    },
                },
            },
        };
        return Envelope(challenge, requirements, payload);
    }

    /// <summary>Signs a voucher-only payment with ceiling <paramref name="maxClaimableAmount"/> (see <see cref="VoucherCeiling"/>).</summary>
    /// <exception cref="InvalidOperationException">The requirement is not batch-settlement on EVM, or the signer is not the payer authorizer.</exception>
    public static async Task<PaymentPayload> CreateVoucherAsync(PaymentRequired challenge, PaymentRequirements requirements, ChannelConfig config, BigInteger maxClaimableAmount, IPaymentSigner voucherSigner, CancellationToken cancellationToken = default)
    {
        Check(challenge, requirements, config, voucherSigner);
        var voucher = await Voucher.SignAsync(voucherSigner, config.ComputeId(requirements.Network), maxClaimableAmount, requirements.Network, cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["type"] = "voucher",
            ["channelConfig"] = config.ToJson(),
            ["voucher"] = voucher.ToJson(),
        };
        return Envelope(challenge, requirements, payload);
    }

    /// <summary>
    /// Signs a cooperative refund request: a zero-charge voucher (ceiling = <paramref name="chargedTotal"/>), for the whole remaining
    /// balance or, with <paramref name="amount"/>, part of it. The envelope has the official refund request's key order.
    /// </summary>
    /// <exception cref="InvalidOperationException">The requirement is not batch-settlement on EVM, or the signer is not the payer authorizer.</exception>
    public static async Task<PaymentPayload> CreateRefundAsync(PaymentRequired challenge, PaymentRequirements requirements, ChannelConfig config, BigInteger chargedTotal, IPaymentSigner voucherSigner, BigInteger? amount = null, CancellationToken cancellationToken = default)
    {
        Check(challenge, requirements, config, voucherSigner);
        if (amount is { Sign: <= 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(amount), "a partial refund is a positive amount");
        }

        var voucher = await Voucher.SignAsync(voucherSigner, config.ComputeId(requirements.Network), VoucherCeiling.Refund(chargedTotal), requirements.Network, cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["type"] = "refund",
            ["channelConfig"] = config.ToJson(),
            ["voucher"] = voucher.ToJson(),
        };
        if (amount is { } partial)
        {
            payload["amount"] = partial.ToString(CultureInfo.InvariantCulture);
        }

        return new PaymentPayload(2, challenge.RawResource, requirements.ToJson(), payload, challenge.Extensions?.DeepClone() as JsonObject) { AcceptedFirst = true };
    }

    private static void Check(PaymentRequired challenge, PaymentRequirements requirements, ChannelConfig config, IPaymentSigner voucherSigner)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(voucherSigner);
        if (!string.Equals(requirements.Scheme, BatchSettlementScheme.Name, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"scheme '{requirements.Scheme}' is not {BatchSettlementScheme.Name}");
        }

        if (!NetworkNames.TryGetEvmChainId(requirements.Network, out _))
        {
            throw new InvalidOperationException($"network '{requirements.Network}' is not an EVM (eip155) network");
        }

        if (!EvmAddress.AreEqual(voucherSigner.Address, config.PayerAuthorizer))
        {
            throw new InvalidOperationException("the voucher signer is not the channel's payer authorizer");
        }
    }

    // As the official x402 client: x402Version of the challenge, the challenge's extensions, its resource, the accepted entry verbatim.
    private static PaymentPayload Envelope(PaymentRequired challenge, PaymentRequirements requirements, JsonObject payload) =>
        new(challenge.X402Version, challenge.RawResource, requirements.ToJson(), payload, challenge.Extensions?.DeepClone() as JsonObject);
}
