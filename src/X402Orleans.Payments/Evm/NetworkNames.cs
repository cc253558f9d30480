using System.Globalization;
using System.Numerics;

namespace X402Orleans.Payments.Evm;

/// <summary>CAIP-2 network identifiers (<c>eip155:84532</c>) and the V1 names they replaced (<c>base-sepolia</c>).</summary>
public static class NetworkNames
{
    private static readonly Dictionary<string, string> V1ToCaip2 = new(StringComparer.OrdinalIgnoreCase)
    {
        ["base"] = "eip155:8453",
        ["base-sepolia"] = "eip155:84532",
        ["ethereum"] = "eip155:1",
        ["sepolia"] = "eip155:11155111",
        ["polygon"] = "eip155:137",
        ["polygon-amoy"] = "eip155:80002",
        ["avalanche"] = "eip155:43114",
        ["avalanche-fuji"] = "eip155:43113",
        ["iotex"] = "eip155:4689",
        ["sei"] = "eip155:1329",
        ["sei-testnet"] = "eip155:1328",
    };

    /// <summary>Maps a V1 network name, or passes a CAIP-2 identifier through; null when unknown.</summary>
    public static string? ToCaip2(string network) =>
        network.Contains(':', StringComparison.Ordinal) ? network : V1ToCaip2.GetValueOrDefault(network);

    /// <summary>The V1 name of a CAIP-2 network, when it has one.</summary>
    public static string? ToV1Name(string caip2) =>
        V1ToCaip2.FirstOrDefault(kv => kv.Value == caip2).Key;

    /// <summary>Reads the chain id of an <c>eip155:N</c> network.</summary>
    public static bool TryGetEvmChainId(string network, out BigInteger chainId)
    {
        chainId = BigInteger.Zero;
        const string prefix = "eip155:";
        if (!network.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var digits = network[prefix.Length..];
        return digits.Length is > 0 and <= 20 && digits.All(char.IsAsciiDigit) && digits[0] != '0'
            && BigInteger.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out chainId);
    }
}
