using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// Builds <c>eth_signTypedData_v4</c> JSON (the form <see cref="Signing.IPaymentSigner.SignTypedDataAsync"/> signs) and hashes it.
/// Every x402 EVM typed message — EIP-3009 authorizations, batch-settlement channel configs and vouchers — goes through here.
/// </summary>
public static class Eip712
{
    /// <summary>A domain {name, version, chainId, verifyingContract (EIP-55)}; <paramref name="version"/> null leaves it out (Permit2 has none).</summary>
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

    /// <summary>The chain id of a requirement's CAIP-2 <c>eip155:N</c> network.</summary>
    /// <exception cref="InvalidOperationException">The network is not an eip155 network.</exception>
    public static BigInteger ChainId(PaymentRequirements requirements)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        return NetworkNames.TryGetEvmChainId(requirements.Network, out var chainId)
            ? chainId
            : throw new InvalidOperationException($"network '{requirements.Network}' is not an eip155 network");
    }

    /// <summary>A struct type's fields, in declaration order.</summary>
    public static IReadOnlyList<(string Name, string Type)> Fields(params (string Name, string Type)[] fields) => fields;

    /// <summary>
    /// The typed-data JSON for one struct: <c>EIP712Domain</c> lists the fields <paramref name="domain"/> has (in the standard
    /// order), <paramref name="fields"/> declare <paramref name="primaryType"/>, <paramref name="message"/> holds its values.
    /// </summary>
    public static string TypedData(string primaryType, IReadOnlyList<(string Name, string Type)> fields, JsonObject domain, JsonObject message) =>
        TypedData(primaryType, domain, message, (primaryType, fields));

    /// <summary>
    /// The typed-data JSON for a message whose struct refers to others: <c>EIP712Domain</c> first (the fields
    /// <paramref name="domain"/> has, in the standard order), then <paramref name="types"/> in the order given (the primary
    /// type first, as viem writes them).
    /// </summary>
    public static string TypedData(string primaryType, JsonObject domain, JsonObject message, params (string Name, IReadOnlyList<(string Name, string Type)> Fields)[] types)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(types);
        (string Name, string Type)[] domainFields = [("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address"), ("salt", "bytes32")];
        var allTypes = new JsonObject { ["EIP712Domain"] = JsonFields(domainFields.Where(f => domain.ContainsKey(f.Name))) };
        foreach (var (name, fields) in types)
        {
            allTypes[name] = JsonFields(fields);
        }

        return X402Json.Serialize(new JsonObject
        {
            ["types"] = allTypes,
            ["primaryType"] = primaryType,
            ["domain"] = domain.DeepClone(),
            ["message"] = message.DeepClone(),
        });
    }

    /// <summary>The EIP-712 digest of typed data (keccak256 of <c>0x1901 ‖ domainSeparator ‖ hashStruct(message)</c>) as <c>0x</c> + 64 lower-case hex digits.</summary>
    public static string Hash(string typedDataJson) => "0x" + Convert.ToHexStringLower(SignatureBytes.TypedDataDigest(typedDataJson));

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

    private static JsonArray JsonFields(IEnumerable<(string Name, string Type)> fields) =>
        new(fields.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["type"] = f.Type }).ToArray());
}
