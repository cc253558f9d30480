using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using X402Orleans.Payments;

namespace X402Orleans.Gateway.Tools;

/// <summary>
/// Checks and normalises tool arguments against the tool's input schema before the MCP SDK binds them to the method's parameters,
/// so that every binding failure is an isError result naming the argument, what was expected and what came (the SDK's own failure
/// is a generic "An error occurred invoking …"):
/// <list type="bullet">
/// <item>an unknown argument: <c>unknown argument 'sesion_id' (did you mean 'session_id'?)</c>;</item>
/// <item>a missing (or null) required argument: <c>session_id is required</c>;</item>
/// <item>a wrong JSON type: <c>ttl_seconds must be an integer number of seconds (got the string "abc")</c>.</item>
/// </list>
/// Amounts (<see cref="AmountArguments"/>) are accepted as strings or JSON numbers; a number becomes the decimal string of its exact
/// JSON text (never through a double or decimal), an exponent form is expanded exactly ("1e-3" → "0.001") or refused when out of
/// range. Integers are accepted as JSON integers or as strings of ASCII digits ("60" → 60). JSON null counts as omitted.
/// </summary>
public static class ToolArguments
{
    /// <summary>The arguments that carry an amount in the asset's units; advertised as <c>"type": ["string", "number"]</c>.</summary>
    public static readonly FrozenSet<string> AmountArguments = FrozenSet.ToFrozenSet(["max_payment", "max_total"], StringComparer.Ordinal);

    private const int MaxErrors = 5;

    /// <summary>The tools whose schema <see cref="WidenAmountSchemas"/> has widened (a tool outlives the options that list it).</summary>
    private static readonly ConditionalWeakTable<Tool, object> Widened = [];

    private static readonly object Done = new();
    private const int ClipLength = 40;

    /// <summary>The call-tool filter: refuses with an isError result, or passes the normalised arguments on to the SDK's binding.</summary>
    public static McpRequestHandler<CallToolRequestParams, CallToolResult> Filter(McpRequestHandler<CallToolRequestParams, CallToolResult> next) =>
        (context, cancellationToken) =>
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.MatchedPrimitive is not McpServerTool tool || context.Params is not { } request)
            {
                return next(context, cancellationToken);
            }

            if (!TryBind(tool.ProtocolTool.Name, tool.ProtocolTool.InputSchema, request.Arguments, out var bound, out var error))
            {
                return ValueTask.FromResult(ToolRunner.Error(error));
            }

            request.Arguments = bound;
            return next(context, cancellationToken);
        };

    /// <summary>
    /// Declares the amount arguments of every tool in <paramref name="options"/> as string or number. In stateless HTTP mode the SDK
    /// builds its options (this included) for every request, over the same tool instances: each tool's schema is widened once.
    /// </summary>
    public static void WidenAmountSchemas(McpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var tool in options.ToolCollection ?? [])
        {
            var protocolTool = tool.ProtocolTool;
            if (!Widened.TryGetValue(protocolTool, out _))
            {
                protocolTool.InputSchema = WidenAmounts(protocolTool.InputSchema);
                Widened.AddOrUpdate(protocolTool, Done);
            }
        }
    }

    /// <summary>
    /// Rewrites the input schema so amount arguments are declared as string or number (the SDK derives <c>"string"</c> from the
    /// parameter type).
    /// </summary>
    public static JsonElement WidenAmounts(JsonElement inputSchema)
    {
        if (JsonNode.Parse(inputSchema.GetRawText()) is not JsonObject schema || schema["properties"] is not JsonObject properties)
        {
            return inputSchema;
        }

        var changed = false;
        foreach (var (name, node) in properties)
        {
            if (!AmountArguments.Contains(name) || node is not JsonObject property)
            {
                continue;
            }

            var types = new JsonArray("string", "number");
            if (TypesOf(property).Contains("null"))
            {
                types.Add("null");
            }

            property["type"] = types;
            changed = true;
        }

        return changed ? JsonSerializer.SerializeToElement(schema) : inputSchema;
    }

    /// <summary>
    /// Checks <paramref name="arguments"/> against <paramref name="inputSchema"/>. On success returns the arguments to bind (amount
    /// numbers turned into strings, digit strings into integers, nulls dropped); otherwise <paramref name="error"/> says what to fix.
    /// </summary>
    public static bool TryBind(string tool, JsonElement inputSchema, IDictionary<string, JsonElement>? arguments, out Dictionary<string, JsonElement> bound, out string error)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        bound = result;
        var properties = inputSchema.ValueKind == JsonValueKind.Object && inputSchema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object
            ? p.EnumerateObject().ToDictionary(x => x.Name, x => x.Value, StringComparer.Ordinal)
            : new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var required = inputSchema.ValueKind == JsonValueKind.Object && inputSchema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [];

        var errors = new List<string>();
        foreach (var (name, value) in arguments ?? new Dictionary<string, JsonElement>())
        {
            if (!properties.TryGetValue(name, out var property))
            {
                errors.Add(Unknown(tool, name, properties.Keys));
                continue;
            }

            if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            {
                continue;
            }

            if (TryConvert(name, property, value, out var converted, out var why))
            {
                bound[name] = converted;
            }
            else
            {
                errors.Add(why);
            }
        }

        errors.AddRange(required.Where(name => !result.ContainsKey(name) && !errors.Exists(e => e.StartsWith(name + " ", StringComparison.Ordinal))).Select(name => $"{name} is required"));
        error = string.Join("; ", errors.Take(MaxErrors)) + (errors.Count > MaxErrors ? $" (and {errors.Count - MaxErrors} more)" : string.Empty);
        return errors.Count == 0;
    }

    private static bool TryConvert(string name, JsonElement property, JsonElement value, out JsonElement converted, out string error)
    {
        converted = value;
        error = string.Empty;
        var types = TypesOf(property);
        if (AmountArguments.Contains(name))
        {
            return TryAmount(name, value, out converted, out error);
        }

        if (types.Count == 0 || Matches(types, value))
        {
            if (types.Contains("integer") && !types.Contains("number") && value.ValueKind == JsonValueKind.Number)
            {
                return TryInteger(name, value, out converted, out error);
            }

            if (types.Contains("object") && value.ValueKind == JsonValueKind.Object)
            {
                return TryObject(name, property, value, out error);
            }

            return true;
        }

        if (types.Contains("integer") && value.ValueKind == JsonValueKind.String)
        {
            return TryInteger(name, value, out converted, out error);
        }

        if (types.Contains("boolean") && value.ValueKind == JsonValueKind.String && value.GetString() is "true" or "false")
        {
            converted = JsonSerializer.SerializeToElement(value.GetString() == "true");
            return true;
        }

        error = $"{name} must be {Expected(name, types, property)} (got {Describe(value)})";
        return false;
    }

    private static bool TryAmount(string name, JsonElement value, out JsonElement converted, out string error)
    {
        converted = value;
        error = string.Empty;
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return true;
            case JsonValueKind.Number when ExactDecimal(value.GetRawText()) is { } text:
                converted = JsonSerializer.SerializeToElement(text);
                return true;
            case JsonValueKind.Number:
                error = $"{name} is out of range (got the number {Clip(value.GetRawText())}); send a decimal string such as \"0.01\"";
                return false;
            default:
                error = $"{name} must be a decimal amount in the asset's units, as a string such as \"0.01\" or a JSON number (got {Describe(value)})";
                return false;
        }
    }

    /// <summary>
    /// The plain decimal text of a JSON number's exact text: unchanged without an exponent; with one, expanded digit by digit
    /// ("1.5e2" → "150", "1e-3" → "0.001"). Null when the expansion would be longer than any amount can be.
    /// </summary>
    internal static string? ExactDecimal(string json)
    {
        var e = json.IndexOfAny(['e', 'E']);
        if (e < 0)
        {
            return json;
        }

        if (!int.TryParse(json.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent))
        {
            return null;
        }

        var negative = json.StartsWith('-');
        var mantissa = json[(negative ? 1 : 0)..e];
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? mantissa : mantissa[..dot];
        var digits = dot < 0 ? mantissa : whole + mantissa[(dot + 1)..];
        if (digits.All(c => c == '0'))
        {
            return negative ? "-0" : "0";
        }

        var point = (long)whole.Length + exponent;
        if (point > AtomicAmount.MaxLength || point < -AtomicAmount.MaxLength)
        {
            return null;
        }

        var at = (int)point;
        var text = at <= 0
            ? "0." + new string('0', -at) + digits
            : at >= digits.Length ? digits + new string('0', at - digits.Length) : digits[..at] + "." + digits[at..];
        if (text.Contains('.', StringComparison.Ordinal))
        {
            text = text.TrimEnd('0').TrimEnd('.');
        }

        text = text.TrimStart('0');
        text = text.Length == 0 || text[0] == '.' ? "0" + text : text;
        return text.Length > AtomicAmount.MaxLength ? null : (negative ? "-" : string.Empty) + text;
    }

    private static bool TryInteger(string name, JsonElement value, out JsonElement converted, out string error)
    {
        converted = value;
        error = string.Empty;
        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        var integral = text.Length > 0 && text.Length <= 20 && (text[0] == '-' ? text.Length > 1 && text[1..].All(char.IsAsciiDigit) : text.All(char.IsAsciiDigit));
        if (!integral)
        {
            error = $"{name} must be {IntegerNoun(name)} (got {Describe(value)})";
            return false;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            error = $"{name} is out of range (got {Describe(value)})";
            return false;
        }

        converted = JsonSerializer.SerializeToElement(number);
        return true;
    }

    private static bool TryObject(string name, JsonElement property, JsonElement value, out string error)
    {
        error = string.Empty;
        if (!property.TryGetProperty("additionalProperties", out var values) || values.ValueKind != JsonValueKind.Object)
        {
            return true;
        }

        var types = TypesOf(values);
        foreach (var entry in value.EnumerateObject())
        {
            if (types.Count > 0 && !Matches(types, entry.Value))
            {
                error = $"{name}['{Clip(entry.Name)}'] must be {Expected(name, types, values)} (got {Describe(entry.Value)})";
                return false;
            }
        }

        return true;
    }

    private static string Expected(string name, List<string> types, JsonElement property)
    {
        var kinds = types.Where(t => t != "null").Select(t => t switch
        {
            "integer" => IntegerNoun(name),
            "string" => "a string",
            "boolean" => "true or false",
            "object" when property.TryGetProperty("additionalProperties", out var v) && TypesOf(v).Where(t => t != "null").SequenceEqual(["string"]) => "an object of name → string value",
            "object" => "an object",
            "array" => "an array",
            "number" => "a number",
            _ => t,
        });
        return string.Join(" or ", kinds);
    }

    private static string IntegerNoun(string name) =>
        name.EndsWith("_seconds", StringComparison.Ordinal) ? "an integer number of seconds"
        : name.EndsWith("_ms", StringComparison.Ordinal) ? "an integer number of milliseconds"
        : "an integer";

    private static string Unknown(string tool, string name, IEnumerable<string> known)
    {
        var names = known.ToList();
        var nearest = names.Select(k => (Name: k, Distance: Distance(name, k))).Where(x => x.Distance <= Math.Max(1, x.Name.Length / 4)).OrderBy(x => x.Distance).Select(x => x.Name).FirstOrDefault();
        return nearest is not null
            ? $"unknown argument '{Clip(name)}' (did you mean '{nearest}'?)"
            : names.Count == 0
                ? $"unknown argument '{Clip(name)}' ({tool} takes no arguments)"
                : $"unknown argument '{Clip(name)}' ({tool} takes {string.Join(", ", names)})";
    }

    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 3 || a.Length > 64)
        {
            return int.MaxValue;
        }

        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    private static List<string> TypesOf(JsonNode property) => property["type"] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        JsonArray a => [.. a.Select(x => x?.GetValue<string>()).OfType<string>()],
        _ => [],
    };

    private static List<string> TypesOf(JsonElement property) =>
        property.ValueKind != JsonValueKind.Object || !property.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.String ? [type.GetString()!]
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!)]
        : [];

    private static bool Matches(List<string> types, JsonElement value)
    {
        var kind = Kind(value);
        return types.Contains(kind) || (kind == "integer" && types.Contains("number"));
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.GetRawText().AsSpan().IndexOfAny(".eE") < 0 ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        _ => "null",
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Clip(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {Clip(value.GetRawText())}",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };

    private static string Clip(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, ClipLength + 1));
        foreach (var c in text.Length <= ClipLength ? text : text[..ClipLength])
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return text.Length <= ClipLength ? builder.ToString() : builder.Append('…').ToString();
    }
}
