using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Interop.Tests;

/// <summary>Fixed keys and JSON helpers shared by the cross-checks.</summary>
internal static class Interop
{
    /// <summary>The web3.js documentation's example key; never holds funds.</summary>
    public const string PrivateKey = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

    /// <summary>Address of <see cref="PrivateKey"/> (EIP-55).</summary>
    public const string Address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";

    public static LocalPrivateKeySigner Signer() => LocalPrivateKeySigner.FromHex(PrivateKey);

    /// <summary>Decodes a standard-base64 header value to JSON without our library.</summary>
    public static JsonObject DecodeBase64Json(string header) =>
        JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(header)))!.AsObject();

    /// <summary>The property names of an object, in order.</summary>
    public static string[] Keys(JsonNode? node) => node!.AsObject().Select(p => p.Key).ToArray();

    /// <summary>
    /// The structure of a JSON value: objects as their keys in order with each value's shape, arrays element-wise, scalars as
    /// their JSON kind. Two values with equal shapes have the same key order (recursively) and the same value types.
    /// </summary>
    public static string Shape(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject obj => "{" + string.Join(",", obj.Select(p => $"{p.Key}:{Shape(p.Value)}")) + "}",
        JsonArray array => "[" + string.Join(",", array.Select(Shape)) + "]",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            var kind => kind.ToString(),
        },
    };

    /// <summary>Asserts that two JSON values are equal, showing both texts when not.</summary>
    public static void AssertJsonEqual(JsonNode? expected, JsonNode? actual)
    {
        if (!JsonNode.DeepEquals(expected, actual))
        {
            Assert.Equal(expected?.ToJsonString(X402Json.WriteOptions), actual?.ToJsonString(X402Json.WriteOptions));
            Assert.Fail("JSON values differ only in ways their text does not show");
        }
    }

    /// <summary>Runs <c>verify-payment.mjs</c>: would the official server and facilitator accept this payment for that 402?</summary>
    public static Task<JsonObject> OfficialVerifyAsync(string paymentSignatureHeader, string paymentRequiredHeader) =>
        NodeScript.RunAsync("verify-payment.mjs", new JsonObject
        {
            ["paymentSignatureHeader"] = paymentSignatureHeader,
            ["paymentRequiredHeader"] = paymentRequiredHeader,
        });

    /// <summary>Runs <c>official-pay.mjs</c>: the official client's payment for a 402 (spend controls off so any asset is paid).</summary>
    public static Task<JsonObject> OfficialPayAsync(string paymentRequiredHeader) =>
        NodeScript.RunAsync("official-pay.mjs", new JsonObject
        {
            ["privateKey"] = PrivateKey,
            ["paymentRequiredHeader"] = paymentRequiredHeader,
            ["spendControls"] = false,
        });

    public static bool Bool(JsonObject json, string name) => json[name]?.GetValue<bool>() ?? false;

    public static string Errors(JsonObject verdict) => verdict["errors"]?.ToJsonString() ?? "[]";
}
