using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Wire;

/// <summary>
/// The signed payment a client sends: V2 in <c>PAYMENT-SIGNATURE</c>
/// (<c>{x402Version, payload, extensions, resource, accepted}</c>), V1 in <c>X-PAYMENT</c>
/// (<c>{x402Version, scheme, network, payload}</c>).
/// </summary>
/// <param name="X402Version">1 or 2.</param>
/// <param name="Resource">V2: the challenge's resource, echoed as received.</param>
/// <param name="Accepted">The chosen requirement exactly as the server advertised it.</param>
/// <param name="Payload">Scheme-specific payload (for <c>exact</c> EVM: authorization and signature).</param>
/// <param name="Extensions">V2 extensions (may be null).</param>
public sealed record PaymentPayload(int X402Version, JsonNode? Resource, JsonObject Accepted, JsonObject Payload, JsonObject? Extensions)
{
    /// <summary>
    /// Write <c>accepted</c> before <c>payload</c> (x402Version, accepted, payload, resource, extensions): the order of the official
    /// batch-settlement refund request, which builds its envelope itself. Otherwise the x402 client's order.
    /// </summary>
    public bool AcceptedFirst { get; init; }

    /// <summary>The header this payload travels in.</summary>
    public string HeaderName => X402Version == 1 ? X402Headers.XPayment : X402Headers.PaymentSignature;

    /// <summary>JSON in the official client's key order (V2: x402Version, payload, extensions, resource, accepted).</summary>
    public JsonObject ToJson()
    {
        if (X402Version == 1)
        {
            return new JsonObject
            {
                ["x402Version"] = 1,
                ["scheme"] = Accepted["scheme"]?.DeepClone(),
                ["network"] = Accepted["network"]?.DeepClone(),
                ["payload"] = Payload.DeepClone(),
            };
        }

        if (AcceptedFirst)
        {
            var refund = new JsonObject
            {
                ["x402Version"] = X402Version,
                ["accepted"] = Accepted.DeepClone(),
                ["payload"] = Payload.DeepClone(),
            };
            if (Resource is not null)
            {
                refund["resource"] = Resource.DeepClone();
            }

            if (Extensions is not null)
            {
                refund["extensions"] = Extensions.DeepClone();
            }

            return refund;
        }

        // The official client (@x402/core 2.27) writes x402Version, payload, extensions, resource, accepted — in that order.
        var json = new JsonObject
        {
            ["x402Version"] = X402Version,
            ["payload"] = Payload.DeepClone(),
        };
        if (Extensions is not null)
        {
            json["extensions"] = Extensions.DeepClone();
        }

        if (Resource is not null)
        {
            json["resource"] = Resource.DeepClone();
        }

        json["accepted"] = Accepted.DeepClone();
        return json;
    }

    /// <summary>Base64 of the JSON, for the payment header.</summary>
    public string EncodeHeader() => X402Json.EncodeHeader(ToJson());

    /// <summary>Decodes a V2 <c>PAYMENT-SIGNATURE</c> value (server side), base64 or base64url.</summary>
    public static bool TryDecodeHeader(string? value, out PaymentPayload? payload, out string error)
    {
        payload = null;
        if (!X402Json.TryDecodeHeader(value, out var json, out error))
        {
            error = $"{X402Headers.PaymentSignature} {error}";
            return false;
        }

        if (!X402Json.TryGetInt64(json!, "x402Version", out var version) || version != 2)
        {
            error = "payment payload x402Version is not 2";
            return false;
        }

        if (json!["accepted"] is not JsonObject accepted || json["payload"] is not JsonObject inner)
        {
            error = "payment payload lacks 'accepted' or 'payload'";
            return false;
        }

        payload = new PaymentPayload(2, json["resource"]?.DeepClone(), (JsonObject)accepted.DeepClone(), (JsonObject)inner.DeepClone(), json["extensions"] is JsonObject ext ? (JsonObject)ext.DeepClone() : null);
        return true;
    }
}
