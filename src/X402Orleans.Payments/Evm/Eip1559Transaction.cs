using System.Globalization;
using System.Numerics;
using Nethereum.Util;
using RlpCodec = Nethereum.RLP.RLP;

namespace X402Orleans.Payments.Evm;

/// <summary>
/// An EIP-1559 (type 2) transaction without an access list: what the wallet sends on chain itself (e.g. a channel's unilateral
/// withdraw). <see cref="SigningHash"/> is the digest the sender signs, <c>keccak256(0x02 ‖ rlp([chainId, nonce,
/// maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, []]))</c>; <see cref="Encode"/> gives the raw signed transaction
/// (<c>eth_sendRawTransaction</c>) and <see cref="HashOf"/> its hash.
/// </summary>
/// <param name="ChainId">The chain id (replay protection).</param>
/// <param name="Nonce">The sender's transaction count it uses.</param>
/// <param name="MaxPriorityFeePerGas">Tip per gas, in wei.</param>
/// <param name="MaxFeePerGas">Most paid per gas (base fee + tip), in wei.</param>
/// <param name="GasLimit">Gas limit.</param>
/// <param name="To">The called contract.</param>
/// <param name="Value">Wei sent with it.</param>
/// <param name="Data">Call data, <c>0x</c> + hex.</param>
public sealed record Eip1559Transaction(BigInteger ChainId, BigInteger Nonce, BigInteger MaxPriorityFeePerGas, BigInteger MaxFeePerGas, BigInteger GasLimit, string To, BigInteger Value, string Data)
{
    private const byte TypePrefix = 0x02;

    /// <summary>The digest the sender signs (32 bytes).</summary>
    public byte[] SigningHash() => Sha3Keccack.Current.CalculateHash(Envelope(Fields()));

    /// <summary>
    /// The raw signed transaction (<c>0x02…</c>) with the sender's signature over <see cref="SigningHash"/>, given as a 65-byte
    /// r‖s‖v hex string (v = 27/28 or 0/1: the y parity is v's low bit after removing 27).
    /// </summary>
    /// <exception cref="FormatException">The signature is not 65 bytes of hex.</exception>
    public string Encode(string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        var bytes = signature.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? Convert.FromHexString(signature.AsSpan(2)) : Convert.FromHexString(signature);
        if (bytes.Length != 65)
        {
            throw new FormatException("a transaction signature is 65 bytes r‖s‖v");
        }

        var v = bytes[64] >= 27 ? bytes[64] - 27 : bytes[64];
        if (v is not (0 or 1))
        {
            throw new FormatException("the signature's v is not 0/1 or 27/28");
        }

        var fields = Fields();
        fields.Add(RlpCodec.EncodeElement(Minimal(v)));
        fields.Add(RlpCodec.EncodeElement(Minimal(new BigInteger(bytes.AsSpan(0, 32), isUnsigned: true, isBigEndian: true))));
        fields.Add(RlpCodec.EncodeElement(Minimal(new BigInteger(bytes.AsSpan(32, 32), isUnsigned: true, isBigEndian: true))));
        return "0x" + Convert.ToHexStringLower(Envelope(fields));
    }

    /// <summary>The transaction hash of a raw signed transaction: keccak256 of its bytes (<c>0x</c> + 64 lower-case hex digits).</summary>
    public static string HashOf(string rawTransaction)
    {
        ArgumentNullException.ThrowIfNull(rawTransaction);
        var bytes = Convert.FromHexString(rawTransaction.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? rawTransaction[2..] : rawTransaction);
        return "0x" + Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(bytes));
    }

    private List<byte[]> Fields()
    {
        if (!EvmAddress.IsValid(To))
        {
            throw new FormatException("the transaction's 'to' is not an address");
        }

        var data = Data.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? Data[2..] : Data;
        return
        [
            RlpCodec.EncodeElement(Minimal(ChainId)),
            RlpCodec.EncodeElement(Minimal(Nonce)),
            RlpCodec.EncodeElement(Minimal(MaxPriorityFeePerGas)),
            RlpCodec.EncodeElement(Minimal(MaxFeePerGas)),
            RlpCodec.EncodeElement(Minimal(GasLimit)),
            RlpCodec.EncodeElement(Convert.FromHexString(To[2..])),
            RlpCodec.EncodeElement(Minimal(Value)),
            RlpCodec.EncodeElement(Convert.FromHexString(data)),
            RlpCodec.EncodeList(), // the access list: empty
        ];
    }

    private static byte[] Envelope(List<byte[]> fields) => [TypePrefix, .. RlpCodec.EncodeList([.. fields])];

    // An RLP integer: big-endian without leading zeros; 0 is the empty string.
    private static byte[] Minimal(BigInteger value) =>
        value.Sign < 0 ? throw new ArgumentOutOfRangeException(nameof(value), value.ToString(CultureInfo.InvariantCulture)) : value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true);
}
