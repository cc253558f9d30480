using System.Text.Json.Nodes;

namespace X402Orleans.Payments.Wire;

/// <summary>
/// Combines the extensions a 402 declared with what a scheme adds to them, as the official client does: the server's extensions
/// are echoed first and win on every conflicting field; objects on both sides are merged recursively; the scheme's fields the server
/// did not have are appended in the scheme's order.
/// </summary>
internal static class ExtensionMerge
{
    public static JsonObject? Merge(JsonObject? server, JsonObject? client)
    {
        if (client is null)
        {
            return server?.DeepClone() as JsonObject;
        }

        if (server is null)
        {
            return (JsonObject)client.DeepClone();
        }

        var merged = (JsonObject)server.DeepClone();
        foreach (var (key, clientValue) in client)
        {
            merged[key] = merged[key] is JsonObject serverObject && clientValue is JsonObject clientObject
                ? MergeFields(serverObject, clientObject)
                : clientValue?.DeepClone();
        }

        return merged;
    }

    // Inside one extension: the server's value stays on conflicts.
    private static JsonObject MergeFields(JsonObject server, JsonObject client)
    {
        var merged = (JsonObject)server.DeepClone();
        foreach (var (key, clientValue) in client)
        {
            if (merged[key] is JsonObject serverObject && clientValue is JsonObject clientObject)
            {
                merged[key] = MergeFields(serverObject, clientObject);
            }
            else if (!merged.ContainsKey(key))
            {
                merged[key] = clientValue?.DeepClone();
            }
        }

        return merged;
    }
}
