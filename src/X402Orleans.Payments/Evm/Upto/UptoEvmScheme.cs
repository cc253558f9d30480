using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm.Upto;

/// <summary>
/// The x402 <c>upto</c> scheme on EVM chains, client side: the payer authorises a maximum (the requirement's <c>amount</c>) as a Permit2
/// <c>PermitWitnessTransferFrom</c> whose spender is the x402 upto proxy and whose witness binds the recipient and the one facilitator
/// allowed to settle; the server later settles any amount up to it and reports it in <c>PAYMENT-RESPONSE.amount</c>.
/// </summary>
/// <remarks>
/// Permit2 must be allowed to spend the token. With an <see cref="IPermit2TokenReader"/> the client checks that allowance first; when
/// it is short and the 402 declares <c>eip2612GasSponsoring</c>, an EIP-2612 permit for exactly the maximum is signed for the
/// facilitator to submit. <c>erc20ApprovalGasSponsoring</c> (a pre-signed, unlimited <c>approve</c> transaction) is not signed:
/// when the allowance is known to be short and no permit can be given, <see cref="CreatePaymentAsync"/> throws an
/// <see cref="X402ProtocolException"/> naming the one-time approval the wallet needs. Without a reader the allowance is unknown and
/// the plain permit is sent (as the official client does without RPC access).
/// </remarks>
public static class UptoEvmScheme
{
    /// <summary>The scheme's name on the wire.</summary>
    public const string Name = "upto";

    /// <summary>The official client signs <c>validAfter = 0</c>: settleable at once.</summary>
    public const long ValidAfter = 0;

    /// <summary>The 402 extension under which a facilitator accepts a pre-signed <c>approve</c> transaction (not signed here).</summary>
    public const string Erc20ApprovalExtensionKey = Permit2Allowance.Erc20ApprovalExtensionKey;

    /// <summary>Checks that a requirement can be paid with this scheme; says why not otherwise.</summary>
    public static bool CanPay(PaymentRequirements requirements, out string error)
    {
        if (!V2Scheme.Matches(requirements, Name, out error))
        {
            return false;
        }

        if (!NetworkNames.TryGetEvmChainId(requirements.Network, out _))
        {
            error = $"network '{requirements.Network}' is not an EVM (eip155) network";
            return false;
        }

        if (!EvmAddress.IsValid(requirements.Asset) || !EvmAddress.IsValid(requirements.PayTo))
        {
            error = "asset or payTo is not an EVM address";
            return false;
        }

        var facilitator = requirements.Extra is null ? null : requirements.Extra["facilitatorAddress"];
        if (facilitator is null)
        {
            error = "the upto requirement's extra lacks facilitatorAddress (the facilitator allowed to settle): the server's facilitator does not publish one";
            return false;
        }

        if (!EvmAddress.IsValid(X402Json.GetString(requirements.Extra!, "facilitatorAddress")))
        {
            error = "the upto requirement's extra.facilitatorAddress is not an EVM address";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Signs an upto payment for <paramref name="requirements"/> (one of <paramref name="challenge"/>'s <c>accepts</c>): permitted =
    /// {asset, amount}, spender = the upto proxy, random uint256 nonce, deadline = now + maxTimeoutSeconds, witness = {payTo, extra's
    /// facilitatorAddress, validAfter 0}; plus the <c>eip2612GasSponsoring</c> permit when needed and possible (see the remarks on
    /// <see cref="UptoEvmScheme"/>). The extensions the 402 declared are echoed, enriched with the permit.
    /// </summary>
    /// <exception cref="X402ProtocolException">The requirement cannot be paid with upto, or Permit2 lacks an allowance the client cannot
    /// obtain by signature; nothing was signed.</exception>
    public static async Task<PaymentPayload> CreatePaymentAsync(
        PaymentRequired challenge,
        PaymentRequirements requirements,
        IPaymentSigner signer,
        TimeProvider time,
        UptoPaymentOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(time);
        options ??= new UptoPaymentOptions();
        if (!CanPay(requirements, out var why))
        {
            throw new X402ProtocolException($"cannot pay with {Name}: {why}; nothing was signed");
        }

        var chainId = Eip712.ChainId(requirements);
        var token = EvmAddress.ToChecksum(requirements.Asset);
        var authorization = new UptoPermit2Authorization(
            signer.Address,
            token,
            requirements.Amount,
            Permit2.UptoProxyAddress,
            options.NonceFactory?.Invoke() ?? RandomNonce(),
            time.GetUtcNow().ToUnixTimeSeconds() + requirements.MaxTimeoutSeconds,
            EvmAddress.ToChecksum(requirements.PayTo),
            EvmAddress.ToChecksum(X402Json.GetString(requirements.Extra!, "facilitatorAddress")!),
            ValidAfter);

        var permit = await Permit2Allowance.PlanAsync(
            challenge, requirements, authorization.From, authorization.Token, authorization.Amount, authorization.Deadline, options.Tokens, "this upto payment authorises", cancellationToken).ConfigureAwait(false);
        var signature = await signer.SignTypedDataAsync(authorization.BuildTypedData(chainId), cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["signature"] = signature,
            ["permit2Authorization"] = authorization.ToJson(),
        };

        var schemeExtensions = await Permit2Allowance.SignExtensionAsync(permit, requirements, signer, cancellationToken).ConfigureAwait(false);
        return new PaymentPayload(2, challenge.RawResource, requirements.ToJson(), payload, ExtensionMerge.Merge(challenge.Extensions, schemeExtensions));
    }

    /// <summary>
    /// Server-side check of an upto payload against the requirement it answers (what a resource server can check without a chain):
    /// the permit is for the requirement's token, at most its amount, to its payTo, settled only by its facilitator, through the
    /// upto proxy, not expired and not yet valid only later; and its Permit2 witness signature recovers to <c>from</c>. Allowance
    /// and balance need the chain (the facilitator's verify).
    /// </summary>
    public static bool TryVerify(PaymentPayload payment, PaymentRequirements requirements, DateTimeOffset now, out UptoPermit2Authorization? authorization, out string error)
    {
        ArgumentNullException.ThrowIfNull(payment);
        ArgumentNullException.ThrowIfNull(requirements);
        if (!UptoPermit2Authorization.TryRead(payment.Payload["permit2Authorization"] as JsonObject, out authorization, out error))
        {
            return false;
        }

        var facilitator = requirements.Extra is null ? null : X402Json.GetString(requirements.Extra, "facilitatorAddress");
        var unixNow = now.ToUnixTimeSeconds();
        error = authorization! switch
        {
            { } a when !EvmAddress.AreEqual(a.Spender, Permit2.UptoProxyAddress) => "invalid_upto_evm_spender",
            { } a when !EvmAddress.AreEqual(a.Token, requirements.Asset) => "invalid_upto_evm_token_mismatch",
            { } a when a.Amount != requirements.Amount => "invalid_upto_evm_amount_mismatch",
            { } a when !EvmAddress.AreEqual(a.To, requirements.PayTo) => "invalid_upto_evm_recipient_mismatch",
            { } a when !EvmAddress.AreEqual(a.Facilitator, facilitator) => "invalid_upto_evm_facilitator_mismatch",
            { } a when a.Deadline < unixNow + 6 || a.ValidAfter > unixNow => "invalid_upto_evm_authorization_window",
            _ => string.Empty,
        };
        if (error.Length > 0)
        {
            return false;
        }

        if (!NetworkNames.TryGetEvmChainId(requirements.Network, out var chainId)
            || !Eip712.TryRecover(authorization!.BuildTypedData(chainId), X402Json.GetString(payment.Payload, "signature"), out var signer)
            || !EvmAddress.AreEqual(signer, authorization.From))
        {
            error = "invalid_upto_evm_signature";
            return false;
        }

        return true;
    }

    private static BigInteger RandomNonce() => new(RandomNumberGenerator.GetBytes(32), isUnsigned: true, isBigEndian: true);
}
