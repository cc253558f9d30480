using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Storage;

namespace X402Orleans.Grains.Storage;

/// <summary>
/// The stored form of grain state: UTF-8 JSON, snake_case member names, enums as snake_case strings, no .NET type names
/// (no <c>$type</c>, no assembly-qualified names), so rows stay readable from SQL and survive renamed or moved classes.
/// Versioning: every state class carries <c>schema_version</c>; members are only ever added. Reading ignores members it
/// does not know (a newer writer's additions) and leaves missing ones at their defaults (an older writer's rows).
/// Dictionary keys are data and are kept exactly as given.
/// </summary>
public sealed class StateJsonSerializer : IGrainStorageSerializer
{
    /// <summary>The options that define the contract.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <inheritdoc />
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    /// <inheritdoc />
    public T? Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var bytes = input.ToMemory();
        return bytes.IsEmpty ? default : JsonSerializer.Deserialize<T>(bytes.Span, Options);
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            PropertyNameCaseInsensitive = false,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
            NumberHandling = JsonNumberHandling.Strict,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            WriteIndented = false,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: true));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
