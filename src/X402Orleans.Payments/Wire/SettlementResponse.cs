using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Wire;

/// <summary>The receipt in <c>PAYMENT-RESPONSE</c> (V2) or <c>X-PAYMENT-RESPONSE</c> (V1).</summary>
/// <param name="Success">Whether the server settled the payment.</param>
/// <param name="Transaction">Transaction hash (empty when none).</param>
/// <param name="Network">Network the payment settled on.</param>
/// <param name="Payer">Payer address as reported by the server.</param>
/// <param name="ErrorReason">Failure reason, when not successful.</param>
public sealed record SettlementResponse(bool Success, string Transaction, string Network, string? Payer, string? ErrorReason)
{
    /// <summary>
    /// What the server charged, atomic units, when it says (the <c>upto</c> scheme reports it; a 0 charge comes with transaction "");
    /// null when the receipt has no <c>amount</c> (<c>exact</c>: the price).
    /// </summary>
    public BigInteger? Amount { get; init; }

    /// <summary>The amount to commit against a budget: the reported <see cref="Amount"/>, else <paramref name="authorized"/>.</summary>
    public BigInteger ChargedAmount(BigInteger authorized) => Amount ?? authorized;

    /// <summary>Scheme-specific details (batch-settlement: <c>chargedAmount</c>, <c>channelState</c>), when the server sent any.</summary>
    public JsonObject? Extra { get; init; }

    /// <summary>JSON in the official key order.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["success"] = Success };
        if (ErrorReason is not null)
        {
            json["errorReason"] = ErrorReason;
        }

        json["transaction"] = Transaction;
        json["network"] = Network;
        if (Payer is not null)
        {
            json["payer"] = Payer;
        }

        if (Amount is { } amount)
        {
            json["amount"] = amount.ToString(CultureInfo.InvariantCulture);
        }

        if (Extra is not null)
        {
            json["extra"] = Extra.DeepClone();
        }

        return json;
    }

    /// <summary>Encodes for the receipt header.</summary>
    public string EncodeHeader() => X402Json.EncodeHeader(ToJson());

    /// <summary>
    /// Decodes a receipt header leniently; an <c>amount</c> that is present but not an atomic integer is an error, except the empty
    /// string, which counts as none (the official batch-settlement server's voucher receipts carry <c>"amount": ""</c>, as they carry
    /// <c>"transaction": ""</c>: nothing was settled on chain).
    /// </summary>
    public static bool TryDecodeHeader(string? value, out SettlementResponse? response, out string error)
    {
        response = null;
        if (!X402Json.TryDecodeHeader(value, out var json, out error))
        {
            error = $"receipt {error}";
            return false;
        }

        BigInteger? amount = null;
        if (json!["amount"] is not null && X402Json.GetString(json, "amount") is not "")
        {
            if (!AtomicAmount.TryParseAtomic(X402Json.GetString(json, "amount"), out var charged))
            {
                error = "receipt amount is not an atomic integer string";
                return false;
            }

            amount = charged;
        }

        var success = json["success"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        response = new SettlementResponse(success, X402Json.GetString(json, "transaction") ?? string.Empty, X402Json.GetString(json, "network") ?? string.Empty, X402Json.GetString(json, "payer"), X402Json.GetString(json, "errorReason"))
        {
            Amount = amount,
            Extra = json["extra"] is JsonObject extra ? (JsonObject)extra.DeepClone() : null,
        };
        return true;
    }
}
