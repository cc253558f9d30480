using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm;

namespace X402Orleans.Payments.Wire;

/// <summary>
/// One entry of a 402's <c>accepts</c> list. Typed fields are read leniently; <see cref="ToJson"/> returns the entry
/// exactly as the server sent it, because official servers only accept a payload whose <c>accepted</c> deep-equals
/// what they advertised (address case, number types and <c>extra</c> included).
/// </summary>
public sealed class PaymentRequirements
{
    private readonly JsonObject _raw;

    private PaymentRequirements(JsonObject raw, int version, string scheme, string network, BigInteger amount, string asset, string payTo, long maxTimeoutSeconds, JsonObject? extra, string? resourceUrl)
    {
        _raw = raw;
        X402Version = version;
        Scheme = scheme;
        Network = network;
        Amount = amount;
        Asset = asset;
        PayTo = payTo;
        MaxTimeoutSeconds = maxTimeoutSeconds;
        Extra = extra;
        ResourceUrl = resourceUrl;
    }

    /// <summary>Protocol version of the 402 this came from (1 or 2).</summary>
    public int X402Version { get; }

    /// <summary>Payment scheme, e.g. <c>exact</c>.</summary>
    public string Scheme { get; }

    /// <summary>CAIP-2 network (V1 names such as <c>base-sepolia</c> are mapped to CAIP-2).</summary>
    public string Network { get; }

    /// <summary>Price in the asset's atomic units (V2 <c>amount</c>, V1 <c>maxAmountRequired</c>).</summary>
    public BigInteger Amount { get; }

    /// <summary>Token contract address as the server wrote it.</summary>
    public string Asset { get; }

    /// <summary>Recipient address as the server wrote it.</summary>
    public string PayTo { get; }

    /// <summary>How long a signed authorization may stay valid.</summary>
    public long MaxTimeoutSeconds { get; }

    /// <summary>Scheme-specific extra data (for <c>exact</c> EVM: the EIP-712 domain <c>name</c> and <c>version</c>).</summary>
    public JsonObject? Extra { get; }

    /// <summary>V1 only: the resource URL carried inside the requirement.</summary>
    public string? ResourceUrl { get; }

    /// <summary>The network's name as the server wrote it (V1 names stay names).</summary>
    public string WireNetwork => X402Json.GetString(_raw, "network") ?? Network;

    /// <summary>A deep copy of the entry exactly as received.</summary>
    public JsonObject ToJson() => (JsonObject)_raw.DeepClone();

    /// <summary>Creates a V2 requirement in the official key order (used by servers, e.g. the demo paywall).</summary>
    public static PaymentRequirements Create(string scheme, string network, BigInteger amount, string asset, string payTo, long maxTimeoutSeconds, JsonObject? extra)
    {
        var raw = new JsonObject
        {
            ["scheme"] = scheme,
            ["network"] = network,
            ["amount"] = amount.ToString(CultureInfo.InvariantCulture),
            ["asset"] = asset,
            ["payTo"] = payTo,
            ["maxTimeoutSeconds"] = maxTimeoutSeconds,
            ["extra"] = extra?.DeepClone() ?? new JsonObject(),
        };
        return Parse(raw, 2, out var req, out _) ? req! : throw new ArgumentException("invalid requirement");
    }

    /// <summary>Reads one <c>accepts</c> entry; on failure says which field is wrong.</summary>
    public static bool Parse(JsonNode? node, int version, out PaymentRequirements? requirements, out string error)
    {
        requirements = null;
        if (node is not JsonObject obj)
        {
            error = "entry is not an object";
            return false;
        }

        var scheme = X402Json.GetString(obj, "scheme");
        if (string.IsNullOrWhiteSpace(scheme))
        {
            error = "missing scheme";
            return false;
        }

        var wireNetwork = X402Json.GetString(obj, "network");
        if (string.IsNullOrWhiteSpace(wireNetwork))
        {
            error = "missing network";
            return false;
        }

        var network = version == 1 ? NetworkNames.ToCaip2(wireNetwork) ?? wireNetwork : wireNetwork;
        var amountField = version == 1 ? "maxAmountRequired" : "amount";
        if (!TryReadAmount(obj[amountField], out var amount))
        {
            error = $"'{amountField}' is not a non-negative integer string";
            return false;
        }

        var asset = X402Json.GetString(obj, "asset");
        if (string.IsNullOrWhiteSpace(asset))
        {
            error = "missing asset";
            return false;
        }

        var payTo = X402Json.GetString(obj, "payTo");
        if (string.IsNullOrWhiteSpace(payTo))
        {
            error = "missing payTo";
            return false;
        }

        if (!X402Json.TryGetInt64(obj, "maxTimeoutSeconds", out var timeout) || timeout <= 0)
        {
            error = "'maxTimeoutSeconds' is not a positive integer";
            return false;
        }

        var extra = obj["extra"] as JsonObject;
        requirements = new PaymentRequirements((JsonObject)obj.DeepClone(), version, scheme, network, amount, asset, payTo, timeout, extra is null ? null : (JsonObject)extra.DeepClone(), version == 1 ? X402Json.GetString(obj, "resource") : null);
        error = string.Empty;
        return true;
    }

    private static bool TryReadAmount(JsonNode? node, out BigInteger amount)
    {
        amount = BigInteger.Zero;
        if (node is not JsonValue value)
        {
            return false;
        }

        if (value.TryGetValue<string>(out var text))
        {
            return AtomicAmount.TryParseAtomic(text, out amount);
        }

        if (value.TryGetValue<long>(out var number) && number >= 0)
        {
            amount = number;
            return true;
        }

        return false;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Scheme} {Amount} of {Asset} on {Network} to {PayTo}";
}
