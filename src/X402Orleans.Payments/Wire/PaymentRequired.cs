using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Wire;

/// <summary>The resource a 402 is about.</summary>
/// <param name="Url">Resource URL as the server built it (echoed back when paying).</param>
/// <param name="Description">Human-readable description, if any.</param>
/// <param name="MimeType">Content type of the resource, if given.</param>
public sealed record ResourceInfo(string Url, string? Description, string? MimeType)
{
    /// <summary>JSON in the official server's key order; like it, writes an unset description or mimeType as "".</summary>
    public JsonObject ToJson() => new()
    {
        ["url"] = Url,
        ["description"] = Description ?? string.Empty,
        ["mimeType"] = MimeType ?? string.Empty,
    };
}

/// <summary>
/// A decoded 402 challenge: V2 from the <c>PAYMENT-REQUIRED</c> header, or V1 from the JSON body.
/// Entries of <c>accepts</c> that could not be read are listed in <see cref="Unreadable"/> instead of failing the whole challenge.
/// </summary>
public sealed class PaymentRequired
{
    private readonly JsonNode? _rawResource;

    private PaymentRequired(int version, string? error, ResourceInfo? resource, JsonNode? rawResource, IReadOnlyList<PaymentRequirements> accepts, IReadOnlyList<string> unreadable, JsonObject? extensions)
    {
        X402Version = version;
        Error = error;
        Resource = resource;
        _rawResource = rawResource;
        Accepts = accepts;
        Unreadable = unreadable;
        Extensions = extensions;
    }

    /// <summary>1 or 2.</summary>
    public int X402Version { get; }

    /// <summary>The server's reason, e.g. "Payment required" or "invalid_exact_evm_signature".</summary>
    public string? Error { get; }

    /// <summary>The resource (V2: top level; V1: taken from the first requirement).</summary>
    public ResourceInfo? Resource { get; }

    /// <summary>Payment options the client may choose from.</summary>
    public IReadOnlyList<PaymentRequirements> Accepts { get; }

    /// <summary>Why some entries of <c>accepts</c> were skipped.</summary>
    public IReadOnlyList<string> Unreadable { get; }

    /// <summary>Extensions offered by the server (e.g. <c>sign-in-with-x</c>).</summary>
    public JsonObject? Extensions { get; }

    /// <summary>The <c>resource</c> object exactly as received (V2), for echoing in the payment payload.</summary>
    public JsonNode? RawResource => _rawResource?.DeepClone();

    /// <summary>Builds a V2 challenge (used by servers such as the demo paywall).</summary>
    public static PaymentRequired Create(string error, ResourceInfo resource, IReadOnlyList<PaymentRequirements> accepts, JsonObject? extensions) =>
        new(2, error, resource, resource.ToJson(), accepts, [], extensions);

    /// <summary>JSON in the official key order: x402Version, error, resource, accepts, extensions.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["x402Version"] = X402Version };
        if (Error is not null)
        {
            json["error"] = Error;
        }

        if (_rawResource is not null)
        {
            json["resource"] = _rawResource.DeepClone();
        }

        json["accepts"] = new JsonArray(Accepts.Select(a => (JsonNode)a.ToJson()).ToArray());
        if (Extensions is not null)
        {
            json["extensions"] = Extensions.DeepClone();
        }

        return json;
    }

    /// <summary>Decodes a V2 <c>PAYMENT-REQUIRED</c> header value (base64 or base64url JSON).</summary>
    public static bool TryDecodeHeader(string? headerValue, out PaymentRequired? paymentRequired, out string error)
    {
        paymentRequired = null;
        if (!X402Json.TryDecodeHeader(headerValue, out var json, out var why))
        {
            error = $"{X402Headers.PaymentRequired} {why}";
            return false;
        }

        return TryRead(json!, out paymentRequired, out error);
    }

    /// <summary>Decodes a V1 402 JSON body (<c>{"x402Version":1,"accepts":[…]}</c>).</summary>
    public static bool TryParseBody(ReadOnlySpan<byte> body, out PaymentRequired? paymentRequired, out string error)
    {
        paymentRequired = null;
        if (!X402Json.TryParseObject(body, out var json, out var why))
        {
            error = $"402 body {why}";
            return false;
        }

        return TryRead(json!, out paymentRequired, out error);
    }

    /// <summary>Encodes for the <c>PAYMENT-REQUIRED</c> header.</summary>
    public string EncodeHeader() => X402Json.EncodeHeader(ToJson());

    private static bool TryRead(JsonObject json, out PaymentRequired? paymentRequired, out string error)
    {
        paymentRequired = null;
        if (!X402Json.TryGetInt64(json, "x402Version", out var version) || version is not (1 or 2))
        {
            error = "x402Version is missing or not 1 or 2";
            return false;
        }

        if (json["accepts"] is not JsonArray acceptsArray)
        {
            error = "'accepts' is missing or not an array";
            return false;
        }

        if (acceptsArray.Count > 64)
        {
            error = "'accepts' has more than 64 entries";
            return false;
        }

        var accepts = new List<PaymentRequirements>();
        var unreadable = new List<string>();
        for (var i = 0; i < acceptsArray.Count; i++)
        {
            if (PaymentRequirements.Parse(acceptsArray[i], (int)version, out var req, out var why))
            {
                accepts.Add(req!);
            }
            else
            {
                unreadable.Add($"accepts[{i}]: {why}");
            }
        }

        ResourceInfo? resource = null;
        JsonNode? rawResource = null;
        if (version == 2 && json["resource"] is JsonObject res && X402Json.GetString(res, "url") is { } url)
        {
            resource = new ResourceInfo(url, X402Json.GetString(res, "description"), X402Json.GetString(res, "mimeType"));
            rawResource = res.DeepClone();
        }
        else if (version == 1 && acceptsArray.FirstOrDefault() is JsonObject first && X402Json.GetString(first, "resource") is { } v1Url)
        {
            resource = new ResourceInfo(v1Url, X402Json.GetString(first, "description"), X402Json.GetString(first, "mimeType"));
        }

        paymentRequired = new PaymentRequired((int)version, X402Json.GetString(json, "error"), resource, rawResource, accepts, unreadable, json["extensions"] is JsonObject ext ? (JsonObject)ext.DeepClone() : null);
        error = string.Empty;
        return true;
    }
}
