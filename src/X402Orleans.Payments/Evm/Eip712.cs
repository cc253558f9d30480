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
    /// <summary>A full domain {name, version, chainId, verifyingContract (EIP-55)}.</summary>
    public static JsonObject Domain(string name, string version, BigInteger chainId, string verifyingContract) => new()
    {
        ["name"] = name,
        ["version"] = version,
        ["chainId"] = chainId.ToString(CultureInfo.InvariantCulture),
        ["verifyingContract"] = EvmAddress.ToChecksum(verifyingContract),
    };

    /// <summary>
    /// The typed-data JSON for one struct: <c>EIP712Domain</c> lists the fields <paramref name="domain"/> has (in the standard
    /// order), <paramref name="fields"/> declare <paramref name="primaryType"/>, <paramref name="message"/> holds its values.
    /// </summary>
    public static string TypedData(string primaryType, IReadOnlyList<(string Name, string Type)> fields, JsonObject domain, JsonObject message)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(message);
        (string Name, string Type)[] domainFields = [("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address"), ("salt", "bytes32")];
        var typedData = new JsonObject
        {
            ["types"] = new JsonObject
            {
                ["EIP712Domain"] = Fields(domainFields.Where(f => domain.ContainsKey(f.Name))),
                [primaryType] = Fields(fields),
            },
            ["primaryType"] = primaryType,
            ["domain"] = domain.DeepClone(),
            ["message"] = message.DeepClone(),
        };
        return X402Json.Serialize(typedData);
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

    private static JsonArray Fields(IEnumerable<(string Name, string Type)> fields) =>
        new(fields.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["type"] = f.Type }).ToArray());
}
