using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests;

/// <summary>Fixed keys, addresses, instants and wire samples shared by the tests.</summary>
internal static class TestData
{
    /// <summary>The web3.js documentation's example key; never holds funds.</summary>
    public const string PrivateKey = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

    /// <summary>Address of <see cref="PrivateKey"/> as viem's <c>privateKeyToAccount</c> derives it (and web3.js documents it).</summary>
    public const string Address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";

    /// <summary>A second, unrelated key.</summary>
    public const string OtherPrivateKey = "0x2222222222222222222222222222222222222222222222222222222222222222";

    /// <summary>USDC on Base Sepolia, checksummed.</summary>
    public const string UsdcSepolia = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

    /// <summary>USDC on Base, checksummed.</summary>
    public const string UsdcBase = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";

    /// <summary>A recipient, checksummed (viem <c>getAddress</c>).</summary>
    public const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

    /// <summary>2026-01-01T00:00:00Z.</summary>
    public const long NowUnix = 1767225600;

    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(NowUnix);

    /// <summary>A V2 <c>accepts</c> entry as an official server writes it.</summary>
    public static string Requirement(
        string amount = "\"10000\"",
        string network = "eip155:84532",
        string asset = UsdcSepolia,
        string payTo = PayTo,
        string scheme = "exact",
        string extra = "{\"name\":\"USDC\",\"version\":\"2\"}") =>
        $"{{\"scheme\":\"{scheme}\",\"network\":\"{network}\",\"amount\":{amount},\"asset\":\"{asset}\",\"payTo\":\"{payTo}\",\"maxTimeoutSeconds\":300,\"extra\":{extra}}}";

    public const string ResourceJson = "{\"url\":\"https://api.example.com/v1/weather\",\"description\":\"Weather\",\"mimeType\":\"application/json\"}";

    /// <summary>A full V2 <c>PAYMENT-REQUIRED</c> JSON text with the given entries.</summary>
    public static string ChallengeJson(params string[] accepts) =>
        $"{{\"x402Version\":2,\"error\":\"Payment required\",\"resource\":{ResourceJson},\"accepts\":[{string.Join(",", accepts)}],\"extensions\":{{\"bazaar\":{{\"discoverable\":true}}}}}}";

    public static string Base64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json));

    public static string Base64Url(string json, bool padded) =>
        padded ? Base64(json).Replace('+', '-').Replace('/', '_') : Base64(json).Replace('+', '-').Replace('/', '_').TrimEnd('=');

    public static string DecodeBase64(string value) => Encoding.UTF8.GetString(Convert.FromBase64String(value));

    /// <summary>Decodes a V2 challenge that is known to be well formed.</summary>
    public static PaymentRequired Challenge(params string[] accepts)
    {
        Assert.True(PaymentRequired.TryDecodeHeader(Base64(ChallengeJson(accepts)), out var challenge, out var error), error);
        return challenge!;
    }

    /// <summary>The property names of a JSON object, in order.</summary>
    public static string[] Keys(JsonObject json) => json.Select(p => p.Key).ToArray();
}
