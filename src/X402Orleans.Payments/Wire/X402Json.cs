using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Wire;

/// <summary>JSON and base64 helpers shared by every x402 header codec.</summary>
public static class X402Json
{
    /// <summary>
    /// Options for compact JSON without HTML escaping. Close to <c>JSON.stringify</c>, but System.Text.Json still escapes characters
    /// outside the Basic Multilingual Plane (emoji) and writes upper-case <c>\u</c> escapes: use <see cref="Serialize"/> for wire bytes.
    /// </summary>
    public static readonly JsonSerializerOptions WriteOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    // Duplicate keys are refused while parsing: JsonObject would otherwise throw on first access, outside any Try method.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 32, AllowTrailingCommas = false, AllowDuplicateProperties = false };

    /// <summary>
    /// Serialises a node compactly, exactly as <c>JSON.stringify</c> would for the same object: keys in order, strings escaped only
    /// where JavaScript escapes them (quote, backslash, control characters as <c>\n</c> or lower-case <c>\u00xx</c>, lone
    /// surrogates); every other character, HTML-sensitive ones and emoji included, is written as is. Numbers keep the text they
    /// were parsed from or created with (x402 uses integers only).
    /// </summary>
    public static string Serialize(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var text = new StringBuilder();
        Write(text, node);
        return text.ToString();
    }

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

    private static void Write(StringBuilder text, JsonNode? node)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                text.Append('{');
                var firstMember = true;
                foreach (var (key, value) in obj)
                {
                    if (!firstMember)
                    {
                        text.Append(',');
                    }

                    firstMember = false;
                    WriteString(text, key);
                    text.Append(':');
                    Write(text, value);
                }

                text.Append('}');
                break;
            case JsonArray array:
                text.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        text.Append(',');
                    }

                    Write(text, array[i]);
                }

                text.Append(']');
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String && value.TryGetValue<string>(out var s):
                WriteString(text, s);
                break;
            default:
                text.Append(node.ToJsonString(WriteOptions));
                break;
        }
    }

    // JSON.stringify's QuoteJSONString (ECMAScript 2019+, well-formed).
    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\b' => "\\b",
                '\t' => "\\t",
                '\n' => "\\n",
                '\f' => "\\f",
                '\r' => "\\r",
                _ when c < ' ' || (char.IsSurrogate(c) && !IsPairedSurrogate(value, i)) => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => null,
            };
            if (escape is null)
            {
                text.Append(c);
            }
            else
            {
                text.Append(escape);
            }
        }

        text.Append('"');
    }

    private static bool IsPairedSurrogate(string value, int i) =>
        char.IsHighSurrogate(value[i])
            ? i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
            : i > 0 && char.IsHighSurrogate(value[i - 1]);

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
