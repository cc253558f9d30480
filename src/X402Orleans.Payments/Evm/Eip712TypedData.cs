using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// Builds <c>eth_signTypedData_v4</c> JSON (the text <see cref="Signing.IPaymentSigner.SignTypedDataAsync"/> signs and
/// <see cref="SignatureBytes.TypedDataDigest"/> hashes) for every EVM scheme: the <c>EIP712Domain</c> type is derived from the
/// domain fields present, in EIP-712's canonical order, as viem does.
/// </summary>
internal static class Eip712TypedData
{
    private static readonly (string Name, string Type)[] DomainFields =
        [("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address")];

    /// <summary>A struct type's field list.</summary>
    public static JsonArray Fields(params (string Name, string Type)[] fields) =>
        new(fields.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["type"] = f.Type }).ToArray());

    /// <summary>A domain; <paramref name="version"/> null leaves the field out (Permit2 has none).</summary>
    public static JsonObject Domain(string name, string? version, BigInteger chainId, string verifyingContract)
    {
        var domain = new JsonObject { ["name"] = name };
        if (version is not null)
        {
            domain["version"] = version;
        }

        domain["chainId"] = chainId.ToString(CultureInfo.InvariantCulture);
        domain["verifyingContract"] = EvmAddress.ToChecksum(verifyingContract);
        return domain;
    }

    /// <summary>The typed-data JSON text: <c>EIP712Domain</c> first, then <paramref name="types"/> in the given order.</summary>
    public static string Serialize(string primaryType, JsonObject domain, JsonObject message, params (string Name, JsonArray Fields)[] types)
    {
        var allTypes = new JsonObject
        {
            ["EIP712Domain"] = Fields(DomainFields.Where(f => domain.ContainsKey(f.Name)).ToArray()),
        };
        foreach (var (name, fields) in types)
        {
            allTypes[name] = fields;
        }

        return X402Json.Serialize(new JsonObject
        {
            ["types"] = allTypes,
            ["primaryType"] = primaryType,
            ["domain"] = domain,
            ["message"] = message,
        });
    }

    /// <summary>The chain id of a requirement's CAIP-2 <c>eip155:N</c> network.</summary>
    /// <exception cref="InvalidOperationException">The network is not an eip155 network.</exception>
    public static BigInteger ChainId(PaymentRequirements requirements) =>
        NetworkNames.TryGetEvmChainId(requirements.Network, out var chainId)
            ? chainId
            : throw new InvalidOperationException($"network '{requirements.Network}' is not an eip155 network");

    /// <summary>Recovers the signer of typed data from a 65-byte signature whose v is 27 or 28.</summary>
    public static bool TryRecover(string typedDataJson, string? signature, out string? address)
    {
        address = null;
        if (!SignatureBytes.IsRecoverable65(signature))
        {
            return false;
        }

        address = SignatureBytes.Recover(SignatureBytes.TypedDataDigest(typedDataJson), signature!);
        return address is not null;
    }
}
