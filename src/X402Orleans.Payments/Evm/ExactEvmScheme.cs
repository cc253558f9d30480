using System.Security.Cryptography;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// The x402 <c>exact</c> scheme on EVM chains: an EIP-3009 <c>TransferWithAuthorization</c> signed as EIP-712 typed data,
/// with domain {name, version from <c>extra</c>; chainId from the CAIP-2 network; verifyingContract = asset}.
/// </summary>
public static class ExactEvmScheme
{
    /// <summary>The scheme's name on the wire.</summary>
    public const string Name = "exact";

    /// <summary>The official client signs <c>validAfter = 0</c> (valid at once); only <c>validBefore</c> bounds the window.</summary>
    public const long ValidAfter = 0;

    /// <summary>Checks that a requirement can be paid with this scheme; says why not otherwise.</summary>
    public static bool CanPay(PaymentRequirements requirements, out string error)
    {
        if (!string.Equals(requirements.Scheme, Name, StringComparison.Ordinal))
        {
            error = $"scheme '{requirements.Scheme}' is not supported (supported: {Name})";
            return false;
        }

        if (!Eip3009.HasTokenDomain(requirements, out error))
        {
            return false;
        }

        if (!EvmAddress.IsValid(requirements.Asset) || !EvmAddress.IsValid(requirements.PayTo))
        {
            error = "asset or payTo is not an EVM address";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Signs a payment for <paramref name="requirements"/> (one of <paramref name="challenge"/>'s <c>accepts</c>): from = the signer,
    /// to = payTo (EIP-55), value = amount, validAfter = 0 and validBefore = now + maxTimeoutSeconds (as the official client), random 32-byte nonce.
    /// </summary>
    public static async Task<PaymentPayload> CreatePaymentAsync(PaymentRequired challenge, PaymentRequirements requirements, IPaymentSigner signer, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(time);
        if (!CanPay(requirements, out var why))
        {
            throw new InvalidOperationException(why);
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var authorization = new TransferAuthorization(
            signer.Address,
            EvmAddress.ToChecksum(requirements.PayTo),
            requirements.Amount,
            ValidAfter,
            now + requirements.MaxTimeoutSeconds,
            "0x" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        var signature = await signer.SignTypedDataAsync(BuildTypedData(requirements, authorization), cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["authorization"] = authorization.ToJson(),
            ["signature"] = signature,
        };
        return new PaymentPayload(requirements.X402Version, challenge.RawResource, requirements.ToJson(), payload, challenge.X402Version == 2 ? challenge.Extensions?.DeepClone() as JsonObject : null);
    }

    /// <summary>The <c>eth_signTypedData_v4</c> JSON of a <c>TransferWithAuthorization</c> under a requirement's token domain.</summary>
    public static string BuildTypedData(PaymentRequirements requirements, TransferAuthorization authorization) =>
        Eip3009.BuildTypedData(Eip3009Kind.TransferWithAuthorization, requirements, authorization);

    /// <summary>
    /// Server-side check of an <c>exact</c> EVM payload against the requirement it claims to accept: recipient, value, validity
    /// window and an EIP-712 signature (v = 27/28) that recovers to <c>from</c>. On success returns the payer. Does not touch a chain
    /// (balances and nonce reuse are the settlement's business).
    /// </summary>
    public static bool TryVerify(PaymentPayload payment, PaymentRequirements requirements, DateTimeOffset now, out TransferAuthorization? authorization, out string error)
    {
        ArgumentNullException.ThrowIfNull(payment);
        ArgumentNullException.ThrowIfNull(requirements);
        if (!TransferAuthorization.TryRead(payment.Payload["authorization"] as JsonObject, out authorization, out error))
        {
            return false;
        }

        if (!EvmAddress.AreEqual(authorization!.To, requirements.PayTo))
        {
            error = "invalid_exact_evm_recipient_mismatch";
            return false;
        }

        // The official facilitator requires the value to equal the price exactly.
        if (authorization.Value != requirements.Amount)
        {
            error = "invalid_exact_evm_payload_authorization_value_mismatch";
            return false;
        }

        var unixNow = now.ToUnixTimeSeconds();
        if (authorization.ValidBefore < unixNow + 6 || authorization.ValidAfter > unixNow)
        {
            error = "invalid_exact_evm_authorization_window";
            return false;
        }

        var signature = X402Json.GetString(payment.Payload, "signature");
        if (!TryRecover(BuildTypedData(requirements, authorization), signature, out var signer) || !EvmAddress.AreEqual(signer, authorization.From))
        {
            error = "invalid_exact_evm_signature";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>Recovers the signer of typed data from a 65-byte signature whose v is 27 or 28.</summary>
    public static bool TryRecover(string typedDataJson, string? signature, out string? address) => Eip712.TryRecover(typedDataJson, signature, out address);
}
