using System.Globalization;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Siwx;

/// <summary>A signed sign-in-with-x proof, ready for the <c>SIGN-IN-WITH-X</c> header.</summary>
/// <param name="HeaderValue">Base64 JSON, as the official client encodes it.</param>
/// <param name="Address">The signing wallet.</param>
/// <param name="ChainId">CAIP-2 chain signed for.</param>
/// <param name="Nonce">The server nonce signed.</param>
/// <param name="IssuedAt">When the server issued the challenge.</param>
/// <param name="ExpiresAt">When the server-given expiry ends (null: none given).</param>
public sealed record SiwxProof(string HeaderValue, string Address, string ChainId, string Nonce, DateTimeOffset? IssuedAt, DateTimeOffset? ExpiresAt)
{
    /// <summary>
    /// Whether the proof may still be sent proactively at <paramref name="now"/>: before the server's expiry (with a margin), and
    /// not older than <paramref name="maxAge"/> since issue (servers refuse old proofs; the official default is 5 minutes).
    /// </summary>
    public bool IsUsableAt(DateTimeOffset now, TimeSpan maxAge, TimeSpan margin)
    {
        if (ExpiresAt is { } expires && now + margin >= expires)
        {
            return false;
        }

        return IssuedAt is not { } issued || now - issued + margin < maxAge;
    }
}

/// <summary>Signs sign-in-with-x challenges as the official client does, and verifies proofs as the official server does.</summary>
public static class SiwxSigner
{
    /// <summary>The official server's default limit on a proof's age.</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Signs <paramref name="challenge"/> received in a response from <paramref name="responseUrl"/>. Refuses challenges not bound to
    /// that origin (domain ≠ host[:port], or uri on another origin) — the official client's phishing guard.
    /// </summary>
    /// <exception cref="X402ProtocolException">The challenge is not bound to the origin or offers no EVM chain.</exception>
    public static async Task<SiwxProof> SignAsync(SiwxChallenge challenge, IPaymentSigner signer, Uri responseUrl, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(responseUrl);
        var info = challenge.Info;
        if (!string.Equals(info.Domain, responseUrl.Authority, StringComparison.Ordinal))
        {
            throw new X402ProtocolException($"sign-in-with-x challenge domain \"{info.Domain}\" does not match the server \"{responseUrl.Authority}\"");
        }

        if (!Uri.TryCreate(info.Uri, UriKind.Absolute, out var uri) || !string.Equals(uri.GetLeftPart(UriPartial.Authority), responseUrl.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            throw new X402ProtocolException($"sign-in-with-x challenge uri \"{info.Uri}\" is not on the server's origin");
        }

        if (FindMalformedField(info) is { } field)
        {
            throw new X402ProtocolException($"sign-in-with-x challenge field '{field}' is not valid for an EIP-4361 message (line breaks, non-ASCII statement or short nonce)");
        }

        var chain = challenge.SupportedChains.FirstOrDefault(c => c.Type == "eip191" && NetworkNames.TryGetEvmChainId(c.ChainId, out _))
            ?? throw new X402ProtocolException("sign-in-with-x challenge offers no EVM (eip191) chain");
        var message = SiwxMessage.Build(info, signer.Address, chain.ChainId);
        var signature = await signer.SignMessageAsync(message, cancellationToken).ConfigureAwait(false);
        var header = new JsonObject { ["domain"] = info.Domain, ["address"] = signer.Address };
        AddIfPresent(header, "statement", info.Statement);
        header["uri"] = info.Uri;
        header["version"] = info.Version;
        header["chainId"] = chain.ChainId;
        header["type"] = chain.Type;
        header["nonce"] = info.Nonce;
        header["issuedAt"] = info.IssuedAt;
        AddIfPresent(header, "expirationTime", info.ExpirationTime);
        AddIfPresent(header, "notBefore", info.NotBefore);
        AddIfPresent(header, "requestId", info.RequestId);
        if (info.Resources is not null)
        {
            header["resources"] = new JsonArray(info.Resources.Select(r => (JsonNode)JsonValue.Create(r)).ToArray());
        }

        header["signature"] = signature;
        return new SiwxProof(X402Json.EncodeHeader(header), signer.Address, chain.ChainId, info.Nonce, ParseTime(info.IssuedAt), ParseTime(info.ExpirationTime));
    }

    /// <summary>
    /// Verifies a <c>SIGN-IN-WITH-X</c> header as the official server does: domain equals <paramref name="expectedHost"/>, uri on
    /// <paramref name="expectedOrigin"/>, issued within <paramref name="maxAge"/> and not in the future, not expired, not before its
    /// start, and an EIP-191 signature by <c>address</c> over the rebuilt EIP-4361 text. Returns the checksummed address.
    /// </summary>
    public static bool TryVerify(string? headerValue, string expectedHost, Uri expectedOrigin, DateTimeOffset now, TimeSpan maxAge, out string? address, out string? nonce, out string error)
    {
        ArgumentNullException.ThrowIfNull(expectedOrigin);
        address = null;
        nonce = null;
        if (!X402Json.TryDecodeHeader(headerValue, out var json, out error))
        {
            error = $"invalid_siwx_header: {error}";
            return false;
        }

        var ext = new JsonObject { ["info"] = json!.DeepClone(), ["supportedChains"] = new JsonArray() };
        if (!SiwxChallenge.TryRead(new JsonObject { [SiwxChallenge.ExtensionKey] = ext }, out var parsed, out error))
        {
            error = $"invalid_siwx_header: {error}";
            return false;
        }

        var info = parsed!.Info;
        // Unreadable times get their own reasons below.
        if (FindMalformedField(info, checkTimes: false) is { } malformed)
        {
            error = $"invalid_siwx_header: {malformed} is malformed";
            return false;
        }

        var claimed = X402Json.GetString(json, "address");
        var chainId = X402Json.GetString(json, "chainId");
        var signature = X402Json.GetString(json, "signature");
        if (!EvmAddress.IsValid(claimed) || chainId is null || !NetworkNames.TryGetEvmChainId(chainId, out _) || signature is null)
        {
            error = "invalid_siwx_header: address, chainId or signature missing or malformed";
            return false;
        }

        if (info.Domain != expectedHost)
        {
            error = "invalid_siwx_domain_mismatch";
            return false;
        }

        if (!Uri.TryCreate(info.Uri, UriKind.Absolute, out var uri) || !string.Equals(uri.GetLeftPart(UriPartial.Authority), expectedOrigin.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            error = "invalid_siwx_uri_mismatch";
            return false;
        }

        if (ParseTime(info.IssuedAt) is not { } issued || now - issued > maxAge || issued > now)
        {
            error = "invalid_siwx_issued_at";
            return false;
        }

        if (info.ExpirationTime is not null && (ParseTime(info.ExpirationTime) is not { } expires || expires < now))
        {
            error = "invalid_siwx_expired";
            return false;
        }

        if (info.NotBefore is not null && (ParseTime(info.NotBefore) is not { } notBefore || now < notBefore))
        {
            error = "invalid_siwx_not_yet_valid";
            return false;
        }

        if (!SignatureBytes.IsRecoverable65(signature))
        {
            error = "invalid_siwx_signature";
            return false;
        }

        var message = SiwxMessage.Build(info, claimed!, chainId);
        var recovered = SignatureBytes.Recover(SignatureBytes.MessageDigest(message), signature!);
        if (!EvmAddress.AreEqual(recovered, claimed))
        {
            error = "invalid_siwx_signature";
            return false;
        }

        address = EvmAddress.ToChecksum(claimed!);
        nonce = info.Nonce;
        return true;
    }

    /// <summary>
    /// Names the first field that would break or forge the EIP-4361 text (a line break could inject "URI:" or "Chain ID:" lines), or that
    /// the official SIWE grammar refuses (statement outside printable ASCII, nonce under 8 alphanumerics), or null when all are sound.
    /// </summary>
    internal static string? FindMalformedField(SiwxInfo info, bool checkTimes = true)
    {
        static bool SingleLine(string? value) => value is null || !value.Any(c => c is '\n' or '\r' or '\u2028' or '\u2029' || char.IsControl(c));
        if (!SingleLine(info.Domain) || info.Domain.Length == 0) return "domain";
        if (!SingleLine(info.Uri)) return "uri";
        if (!SingleLine(info.Version)) return "version";
        if (info.Nonce.Length < 8 || !info.Nonce.All(char.IsAsciiLetterOrDigit)) return "nonce";
        if (!SingleLine(info.IssuedAt) || (checkTimes && ParseTime(info.IssuedAt) is null)) return "issuedAt";
        if (!SingleLine(info.ExpirationTime) || (checkTimes && info.ExpirationTime is not null && ParseTime(info.ExpirationTime) is null)) return "expirationTime";
        if (!SingleLine(info.NotBefore) || (checkTimes && info.NotBefore is not null && ParseTime(info.NotBefore) is null)) return "notBefore";
        if (!SingleLine(info.RequestId)) return "requestId";
        if (info.Statement is not null && !info.Statement.All(c => c is >= ' ' and <= '~')) return "statement";
        return info.Resources?.Any(r => !SingleLine(r)) == true ? "resources" : null;
    }

    internal static DateTimeOffset? ParseTime(string? iso) =>
        iso is not null && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    private static void AddIfPresent(JsonObject json, string name, string? value)
    {
        if (value is not null)
        {
            json[name] = value;
        }
    }
}
