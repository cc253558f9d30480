using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using Nethereum.Util;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// Builds <c>eth_signTypedData_v4</c> JSON (the form <see cref="Signing.IPaymentSigner.SignTypedDataAsync(string, CancellationToken)"/> signs) and hashes it.
/// Every x402 EVM typed message — EIP-3009 authorizations, batch-settlement channel configs and vouchers — goes through here.
/// Structs whose fields are all static words (the batch-settlement voucher and channel config, signed or checked on every paid
/// request) are also hashed directly (<see cref="DomainSeparator"/>, <see cref="HashStruct"/>, <see cref="Digest"/>): the same
/// digest as the JSON encoding, without building and re-parsing the JSON.
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
        if (!SignatureBytes.IsRecoverable65(signature))
        {
            address = null;
            return false;
        }

        return TryRecover(SignatureBytes.TypedDataDigest(typedDataJson), signature, out address);
    }

    /// <summary>The EIP-712 digest of a 65-byte signature's message given directly: keccak256(<c>0x1901 ‖ domainSeparator ‖ structHash</c>).</summary>
    public static byte[] Digest(ReadOnlySpan<byte> domainSeparator, ReadOnlySpan<byte> structHash)
    {
        Span<byte> preimage = stackalloc byte[66];
        preimage[0] = 0x19;
        preimage[1] = 0x01;
        domainSeparator.CopyTo(preimage.Slice(2, 32));
        structHash.CopyTo(preimage.Slice(34, 32));
        return Sha3Keccack.Current.CalculateHash(preimage.ToArray());
    }

    /// <summary>The type hash of an encoded struct type, e.g. <c>Voucher(bytes32 channelId,uint128 maxClaimableAmount)</c>: keccak256 of its UTF-8 bytes.</summary>
    public static byte[] TypeHash(string encodedType)
    {
        ArgumentNullException.ThrowIfNull(encodedType);
        return Sha3Keccack.Current.CalculateHash(Encoding.UTF8.GetBytes(encodedType));
    }

    /// <summary>
    /// <c>hashStruct</c> of a struct whose fields are all static: keccak256(<paramref name="typeHash"/> ‖ <paramref name="words"/>), each word
    /// an <see cref="AbiWord"/> (64 hex digits: addresses and bytes32 via <see cref="AbiWord.Hex"/>, uints via <see cref="AbiWord.Uint"/>),
    /// in field order.
    /// </summary>
    public static byte[] HashStruct(ReadOnlySpan<byte> typeHash, params ReadOnlySpan<string> words)
    {
        var encoded = new byte[32 * (words.Length + 1)];
        typeHash.CopyTo(encoded);
        for (var i = 0; i < words.Length; i++)
        {
            Convert.FromHexString(words[i], encoded.AsSpan(32 * (i + 1), 32), out _, out var written);
            if (words[i].Length != 64 || written != 32)
            {
                throw new FormatException("an EIP-712 struct word is 64 hex digits");
            }
        }

        return Sha3Keccack.Current.CalculateHash(encoded);
    }

    /// <summary>The domain separator of {name, version, chainId, verifyingContract}, as <see cref="Domain"/> builds it (<paramref name="version"/> null leaves it out).</summary>
    public static byte[] DomainSeparator(string name, string? version, BigInteger chainId, string verifyingContract)
    {
        ArgumentNullException.ThrowIfNull(name);
        var nameWord = Convert.ToHexStringLower(TypeHash(name));
        var chainWord = AbiWord.Uint(chainId);
        var contractWord = AbiWord.Hex(verifyingContract);
        return version is null
            ? HashStruct(TypeHash("EIP712Domain(string name,uint256 chainId,address verifyingContract)"), nameWord, chainWord, contractWord)
            : HashStruct(TypeHash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"), nameWord, Convert.ToHexStringLower(TypeHash(version)), chainWord, contractWord);
    }

    /// <summary>A digest as <c>0x</c> + 64 lower-case hex digits (as <see cref="Hash"/> writes it).</summary>
    public static string ToHex(ReadOnlySpan<byte> digest) => "0x" + Convert.ToHexStringLower(digest);

    /// <summary>Recovers the signer of a 32-byte EIP-712 <paramref name="digest"/> from a 65-byte signature whose v is 27 or 28.</summary>
    public static bool TryRecover(ReadOnlySpan<byte> digest, string? signature, out string? address)
    {
        address = null;
        if (!SignatureBytes.IsRecoverable65(signature))
        {
            return false;
        }

        address = SignatureBytes.Recover(digest, signature!);
        return address is not null;
    }

    private static JsonArray JsonFields(IEnumerable<(string Name, string Type)> fields) =>
        new(fields.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["type"] = f.Type }).ToArray());
}
