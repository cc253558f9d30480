using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Evm;

/// <summary>An EIP-3009 authorization message: the fields <c>TransferWithAuthorization</c> and <c>ReceiveWithAuthorization</c> share (see <see cref="Eip3009"/>).</summary>
/// <param name="From">Payer address.</param>
/// <param name="To">Recipient address.</param>
/// <param name="Value">Atomic amount.</param>
/// <param name="ValidAfter">Unix seconds after which the authorization is valid.</param>
/// <param name="ValidBefore">Unix seconds before which the authorization is valid.</param>
/// <param name="Nonce"><c>0x</c> + 32 random bytes in hex.</param>
public sealed record TransferAuthorization(string From, string To, BigInteger Value, long ValidAfter, long ValidBefore, string Nonce)
{
    /// <summary>The <c>authorization</c> object as the official client writes it (numbers as decimal strings).</summary>
    public JsonObject ToJson() => new()
    {
        ["from"] = From,
        ["to"] = To,
        ["value"] = Value.ToString(CultureInfo.InvariantCulture),
        ["validAfter"] = ValidAfter.ToString(CultureInfo.InvariantCulture),
        ["validBefore"] = ValidBefore.ToString(CultureInfo.InvariantCulture),
        ["nonce"] = Nonce,
    };

    /// <summary>Reads an <c>authorization</c> object leniently (numbers as strings or JSON numbers).</summary>
    public static bool TryRead(JsonObject? json, out TransferAuthorization? authorization, out string error)
    {
        authorization = null;
        if (json is null)
        {
            error = "authorization is missing";
            return false;
        }

        var from = X402Json.GetString(json, "from");
        var to = X402Json.GetString(json, "to");
        var nonce = X402Json.GetString(json, "nonce");
        if (!EvmAddress.IsValid(from) || !EvmAddress.IsValid(to))
        {
            error = "authorization from/to is not an address";
            return false;
        }

        if (nonce is not { Length: 66 } || !nonce.StartsWith("0x", StringComparison.Ordinal) || nonce.AsSpan(2).ContainsAnyExcept("0123456789abcdefABCDEF"))
        {
            error = "authorization nonce is not 32 bytes of hex";
            return false;
        }

        if (!AtomicAmount.TryParseAtomic(X402Json.GetString(json, "value"), out var value)
            || !X402Json.TryGetInt64(json, "validAfter", out var after)
            || !X402Json.TryGetInt64(json, "validBefore", out var before))
        {
            error = "authorization value/validAfter/validBefore is not an integer";
            return false;
        }

        authorization = new TransferAuthorization(from!, to!, value, after, before, nonce);
        error = string.Empty;
        return true;
    }
}
