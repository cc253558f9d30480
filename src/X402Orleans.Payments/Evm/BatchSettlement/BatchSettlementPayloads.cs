using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Nethereum.Util;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.BatchSettlement;

/// <summary>
/// The payment payloads of the batch-settlement scheme, byte for byte as the official client (<c>@x402/evm</c> 2.27.0) sends them:
/// <c>deposit</c> (an ERC-3009 <c>ReceiveWithAuthorization</c> or a Permit2 witness transfer to its deposit collector, plus a voucher), <c>voucher</c> (a voucher
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
    /// Signs a deposit of <paramref name="depositAmount"/> plus a voucher with ceiling <paramref name="maxClaimableAmount"/>, by the
    /// requirement's <c>extra.assetTransferMethod</c> (see <see cref="BatchSettlementScheme.TryGetTransferMethod"/>):
    /// <list type="bullet">
    /// <item>ERC-3009 (default): a <c>ReceiveWithAuthorization</c> to the ERC3009DepositCollector valid from 0 until now +
    /// <c>maxTimeoutSeconds</c>, its nonce bound to the channel by <paramref name="depositSalt"/>;</item>
    /// <item>Permit2: a <c>PermitWitnessTransferFrom</c> of exactly the deposit to the Permit2DepositCollector, deadline now +
    /// <c>maxTimeoutSeconds</c>, nonce = <paramref name="depositSalt"/> read as a uint256, witness <c>DepositWitness(channelId)</c>;
    /// with <paramref name="permit2Tokens"/> Permit2's allowance is checked first (<see cref="Permit2Allowance"/>: an EIP-2612 permit
    /// for the deposit when the 402 sponsors one, else a refusal naming the one-time approval).</item>
    /// </list>
    /// <paramref name="depositSalt"/> defaults to 32 random bytes (as the official client draws them). <paramref name="payer"/> signs the
    /// deposit, <paramref name="voucherSigner"/> (default: the payer) the voucher.
    /// </summary>
    /// <exception cref="InvalidOperationException">The requirement is not batch-settlement on EVM (with the token's EIP-712 domain for
    /// ERC-3009), its transfer method is unknown, or a signer does not match the configuration.</exception>
    /// <exception cref="X402ProtocolException">Permit2 deposit: Permit2's allowance is short and no signature can give it; nothing was
    /// signed.</exception>
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
        IPermit2TokenReader? permit2Tokens = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payer);
        ArgumentNullException.ThrowIfNull(time);
        Check(challenge, requirements, config, voucherSigner ?? payer);
        if (!BatchSettlementScheme.TryGetTransferMethod(requirements, out var method, out var why)
            || (method == BatchSettlementScheme.Eip3009TransferMethod && !Eip3009.HasTokenDomain(requirements, out why)))
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
        if (!BatchSettlementScheme.IsBytes32(depositSalt))
        {
            throw new ArgumentException("the deposit salt is 32 bytes of hex", nameof(depositSalt));
        }

        var channelId = config.ComputeId(requirements.Network);
        var deadline = time.GetUtcNow().ToUnixTimeSeconds() + requirements.MaxTimeoutSeconds;
        JsonObject authorization;
        JsonObject? schemeExtensions = null;
        if (method == BatchSettlementScheme.Permit2TransferMethod)
        {
            var nonce = new BigInteger(Convert.FromHexString(depositSalt.AsSpan(2)), isUnsigned: true, isBigEndian: true);
            var permit2 = new Permit2DepositAuthorization(EvmAddress.ToChecksum(payer.Address), EvmAddress.ToChecksum(requirements.Asset), depositAmount, nonce, deadline, channelId);
            var permit = await Permit2Allowance.PlanAsync(
                challenge, requirements, permit2.From, permit2.Token, depositAmount, deadline, permit2Tokens, "this batch-settlement deposit moves", cancellationToken).ConfigureAwait(false);
            var signature = await payer.SignTypedDataAsync(permit2.BuildTypedData(Eip712.ChainId(requirements)), cancellationToken).ConfigureAwait(false);
            authorization = new JsonObject { ["permit2Authorization"] = permit2.ToJson(signature) };
            schemeExtensions = await Permit2Allowance.SignExtensionAsync(permit, requirements, payer, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var receive = DepositAuthorization(payer.Address, channelId, depositAmount, deadline, depositSalt);
            var signature = await payer.SignTypedDataAsync(Eip3009.BuildTypedData(Eip3009Kind.ReceiveWithAuthorization, requirements, receive), cancellationToken).ConfigureAwait(false);
            authorization = new JsonObject
            {
                ["erc3009Authorization"] = new JsonObject
                {
                    ["validAfter"] = receive.ValidAfter.ToString(CultureInfo.InvariantCulture),
                    ["validBefore"] = receive.ValidBefore.ToString(CultureInfo.InvariantCulture),
                    ["salt"] = depositSalt,
                    ["signature"] = signature,
                },
            };
        }

        var voucher = await Voucher.SignAsync(voucherSigner ?? payer, channelId, maxClaimableAmount, requirements.Network, cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["type"] = "deposit",
            ["channelConfig"] = config.ToJson(),
            ["voucher"] = voucher.ToJson(),
            ["deposit"] = new JsonObject
            {
                ["amount"] = depositAmount.ToString(CultureInfo.InvariantCulture),
                ["authorization"] = authorization,
            },
        };
        return new PaymentPayload(challenge.X402Version, challenge.RawResource, requirements.ToJson(), payload, ExtensionMerge.Merge(challenge.Extensions, schemeExtensions));
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
