using System.Text;
using System.Text.Json.Nodes;

namespace X402Orleans.Interop.Tests;

/// <summary>
/// One run of <c>official-402.mjs</c> (a real Express app with the official <c>@x402/express</c> middleware) for every route the
/// tests need; its 402 answers are shared by all tests of the <see cref="OfficialCollection"/>.
/// </summary>
public sealed class OfficialServerFixture : IAsyncLifetime
{
    /// <summary>USDC on Base Sepolia: the official default asset of <c>eip155:84532</c>.</summary>
    public const string UsdcBaseSepolia = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

    /// <summary>USDC on Base: the official default asset of <c>eip155:8453</c>.</summary>
    public const string UsdcBase = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";

    /// <summary>The asset of the object-price route (mixed-case EIP-55, so case handling shows).</summary>
    public const string CustomAsset = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";

    /// <summary>The recipient of every route.</summary>
    public const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

    /// <summary>"$0.001" on Base Sepolia, with SIWX (no options), description and mime type.</summary>
    public const string Weather = "/api/weather";

    /// <summary>"$0.05" on Base Sepolia, no SIWX.</summary>
    public const string Premium = "/api/premium";

    /// <summary>Object price (12345 atomic units of <see cref="CustomAsset"/>, extra name with non-ASCII letters), maxTimeoutSeconds 120, SIWX with statement and expiry.</summary>
    public const string Custom = "/api/custom";

    /// <summary>"$0.01" on Base mainnet; the description has characters outside the BMP, HTML characters and control characters.</summary>
    public const string Mainnet = "/api/mainnet";

    /// <summary>The custom route's token name (EIP-712 domain name).</summary>
    public const string CustomTokenName = "Tëst Tøken";

    /// <summary>The custom route's SIWX statement.</summary>
    public const string CustomStatement = "Sign in to reuse what you paid for";

    /// <summary>The mainnet route's description.</summary>
    public const string MainnetDescription = "Wetter für Zürich ☀ 🌦 \"live\" <b>&</b>\t\u001f";

    private JsonObject _output = new();

    /// <summary>The port the official server listened on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:port</c>.</summary>
    public string Origin => $"http://127.0.0.1:{Port}";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var input = new JsonObject
        {
            ["routes"] = new JsonArray(
                new JsonObject
                {
                    ["path"] = Weather, ["method"] = "GET", ["price"] = "$0.001", ["network"] = "eip155:84532", ["payTo"] = PayTo,
                    ["siwx"] = true, ["description"] = "Weather", ["mimeType"] = "application/json",
                },
                new JsonObject
                {
                    ["path"] = Premium, ["method"] = "GET", ["price"] = "$0.05", ["network"] = "eip155:84532", ["payTo"] = PayTo, ["siwx"] = false,
                },
                new JsonObject
                {
                    ["path"] = Custom, ["method"] = "POST",
                    ["price"] = new JsonObject
                    {
                        ["amount"] = "12345", ["asset"] = CustomAsset, ["extra"] = new JsonObject { ["name"] = CustomTokenName, ["version"] = "1" },
                    },
                    ["network"] = "eip155:84532", ["payTo"] = PayTo, ["maxTimeoutSeconds"] = 120,
                    ["siwx"] = new JsonObject { ["statement"] = CustomStatement, ["expirationSeconds"] = 600 },
                },
                new JsonObject
                {
                    ["path"] = Mainnet, ["method"] = "GET", ["price"] = "$0.01", ["network"] = "eip155:8453", ["payTo"] = PayTo, ["siwx"] = false,
                    ["description"] = MainnetDescription,
                }),
        };
        _output = await NodeScript.RunAsync("official-402.mjs", input);
        Port = _output["port"]!.GetValue<int>();
    }

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>The official answer for a route.</summary>
    public JsonObject Response(string path) =>
        _output["responses"]!.AsArray().OfType<JsonObject>().Single(r => r["path"]!.GetValue<string>() == path);

    /// <summary>The route's <c>PAYMENT-REQUIRED</c> header value, exactly as the official server sent it.</summary>
    public string Header(string path) => Response(path)["headers"]!["payment-required"]!.GetValue<string>();

    /// <summary>The route's 402 JSON, decoded without our library (base64 → UTF-8 → JSON, key order kept).</summary>
    public JsonObject Json(string path) => JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Header(path))))!.AsObject();

    /// <summary>The route's resource URL as the official server built it.</summary>
    public string Url(string path) => Origin + path;
}

/// <summary>Tests that share one official server run (and run one after another: each test starts Node processes).</summary>
[CollectionDefinition(Name)]
public sealed class OfficialCollection : ICollectionFixture<OfficialServerFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Official x402 packages";
}
