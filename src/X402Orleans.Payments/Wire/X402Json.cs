using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Wire;

/// <summary>JSON and base64 helpers shared by every x402 header codec.</summary>
public static class X402Json
{
    /// <summary>Options that write JSON the way JavaScript's <c>JSON.stringify</c> does: compact, no HTML escaping.</summary>
    public static readonly JsonSerializerOptions WriteOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    // Duplicate keys are refused while parsing: JsonObject would otherwise throw on first access, outside any Try method.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 32, AllowTrailingCommas = false, AllowDuplicateProperties = false };

    /// <summary>Serialises a node compactly, exactly as <c>JSON.stringify</c> would for the same object.</summary>
    public static string Serialize(JsonNode node) => node.ToJsonString(WriteOptions);

    /// <summary>Base64 (standard alphabet, padded) of the UTF-8 JSON text: what official x402 peers send.</summary>
    public static string EncodeHeader(JsonNode node) => Convert.ToBase64String(Encoding.UTF8.GetBytes(Serialize(node)));

    /// <summary>
    /// Decodes a base64 or base64url header value (padding optional, surrounding whitespace ignored) into a JSON object.
    /// Returns false with a reason an agent can act on when the value is not base64 JSON of an object.
    /// </summary>
    public static bool TryDecodeHeader(string? value, out JsonObject? json, out string error)
    {
        json = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "header is empty";
            return false;
        }

        if (value.Length > MaxHeaderChars)
        {
            error = $"header is longer than {MaxHeaderChars} characters";
            return false;
        }

        if (!TryDecodeBase64(value.Trim(), out var bytes))
        {
            error = "header is not base64";
            return false;
        }

        return TryParseObject(bytes, out json, out error);
    }

    /// <summary>Parses UTF-8 JSON bytes that must hold one object.</summary>
    public static bool TryParseObject(ReadOnlySpan<byte> utf8, out JsonObject? json, out string error)
    {
        json = null;
        try
        {
            var node = JsonNode.Parse(utf8, NodeOptions, DocumentOptions);
            if (node is JsonObject obj)
            {
                json = obj;
                error = string.Empty;
                return true;
            }

            error = "JSON is not an object";
            return false;
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON ({ex.Message.Split('.')[0]})";
            return false;
        }
    }

    /// <summary>The largest header value accepted when reading (64 KiB of base64).</summary>
    public const int MaxHeaderChars = 64 * 1024;

    internal static bool TryDecodeBase64(string text, out byte[] bytes)
    {
        var normalized = text.Replace('-', '+').Replace('_', '/');
        var remainder = normalized.Length % 4;
        if (remainder == 1)
        {
            bytes = [];
            return false;
        }

        if (remainder > 0)
        {
            normalized += new string('=', 4 - remainder);
        }

        bytes = new byte[normalized.Length * 3 / 4];
        if (Convert.TryFromBase64String(normalized, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }

        bytes = [];
        return false;
    }

    internal static string? GetString(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    internal static bool TryGetInt64(JsonObject obj, string name, out long value)
    {
        value = 0;
        if (obj[name] is not JsonValue v)
        {
            return false;
        }

        if (v.TryGetValue<long>(out value))
        {
            return true;
        }

        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= long.MinValue and <= long.MaxValue)
        {
            value = (long)d;
            return true;
        }

        return v.TryGetValue<string>(out var s) && long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
