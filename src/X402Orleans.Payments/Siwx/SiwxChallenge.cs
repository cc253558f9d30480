using System.Text.Json.Nodes;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Siwx;

/// <summary>The server's <c>info</c> of a sign-in-with-x challenge (EIP-4361 fields; no chain id: the client picks one).</summary>
/// <param name="Domain">host[:port] the server expects.</param>
/// <param name="Uri">The resource URI the proof is for.</param>
/// <param name="Version">Message version ("1").</param>
/// <param name="Nonce">Server nonce.</param>
/// <param name="IssuedAt">ISO-8601 issue time, kept verbatim.</param>
/// <param name="ExpirationTime">ISO-8601 expiry, verbatim, optional.</param>
/// <param name="NotBefore">ISO-8601 start, verbatim, optional.</param>
/// <param name="RequestId">Request id, optional.</param>
/// <param name="Resources">Resources line items, optional.</param>
/// <param name="Statement">Human-readable statement, optional.</param>
public sealed record SiwxInfo(string Domain, string Uri, string Version, string Nonce, string IssuedAt, string? ExpirationTime, string? NotBefore, string? RequestId, IReadOnlyList<string>? Resources, string? Statement);

/// <summary>A chain the server accepts proofs for.</summary>
/// <param name="ChainId">CAIP-2 chain, e.g. <c>eip155:84532</c>.</param>
/// <param name="Type">Signature type, <c>eip191</c> for EVM wallets.</param>
public sealed record SiwxChain(string ChainId, string Type);

/// <summary>A <c>sign-in-with-x</c> extension read from a 402's <c>extensions</c>.</summary>
/// <param name="Info">What to sign.</param>
/// <param name="SupportedChains">Chains the server verifies.</param>
public sealed record SiwxChallenge(SiwxInfo Info, IReadOnlyList<SiwxChain> SupportedChains)
{
    /// <summary>The extension's key in <c>extensions</c>.</summary>
    public const string ExtensionKey = "sign-in-with-x";

    /// <summary>Reads the challenge from a 402's extensions; false (with a reason) when absent or malformed.</summary>
    public static bool TryRead(JsonObject? extensions, out SiwxChallenge? challenge, out string error)
    {
        challenge = null;
        if (extensions?[ExtensionKey] is not JsonObject ext)
        {
            error = "the server does not offer sign-in-with-x";
            return false;
        }

        if (ext["info"] is not JsonObject info)
        {
            error = "sign-in-with-x extension has no info";
            return false;
        }

        var domain = X402Json.GetString(info, "domain");
        var uri = X402Json.GetString(info, "uri");
        var nonce = X402Json.GetString(info, "nonce");
        var issuedAt = X402Json.GetString(info, "issuedAt");
        if (string.IsNullOrEmpty(domain) || string.IsNullOrEmpty(uri) || string.IsNullOrEmpty(nonce) || string.IsNullOrEmpty(issuedAt))
        {
            error = "sign-in-with-x info lacks domain, uri, nonce or issuedAt";
            return false;
        }

        List<string>? resources = null;
        if (info["resources"] is JsonArray array)
        {
            resources = [];
            foreach (var item in array)
            {
                if (item is JsonValue v && v.TryGetValue<string>(out var s))
                {
                    resources.Add(s);
                }
            }
        }

        var chains = new List<SiwxChain>();
        if (ext["supportedChains"] is JsonArray supported)
        {
            foreach (var item in supported.OfType<JsonObject>())
            {
                if (X402Json.GetString(item, "chainId") is { } chainId && X402Json.GetString(item, "type") is { } type)
                {
                    chains.Add(new SiwxChain(chainId, type));
                }
            }
        }

        challenge = new SiwxChallenge(
            new SiwxInfo(domain, uri, X402Json.GetString(info, "version") ?? "1", nonce, issuedAt, X402Json.GetString(info, "expirationTime"), X402Json.GetString(info, "notBefore"), X402Json.GetString(info, "requestId"), resources, X402Json.GetString(info, "statement")),
            chains);
        error = string.Empty;
        return true;
    }

    /// <summary>
    /// The extension object a server puts in <c>extensions["sign-in-with-x"]</c> (without the JSON schema): <c>info</c> in the
    /// official server's key order (domain, uri, version, nonce, issuedAt, resources, expirationTime, statement), with the optional
    /// notBefore and requestId — which the official server never sets — after expirationTime; unset optional fields are left out.
    /// </summary>
    public JsonObject ToJson()
    {
        var info = new JsonObject
        {
            ["domain"] = Info.Domain,
            ["uri"] = Info.Uri,
            ["version"] = Info.Version,
            ["nonce"] = Info.Nonce,
            ["issuedAt"] = Info.IssuedAt,
        };
        if (Info.Resources is not null)
        {
            info["resources"] = new JsonArray(Info.Resources.Select(r => (JsonNode)JsonValue.Create(r)).ToArray());
        }

        if (Info.ExpirationTime is not null)
        {
            info["expirationTime"] = Info.ExpirationTime;
        }

        if (Info.NotBefore is not null)
        {
            info["notBefore"] = Info.NotBefore;
        }

        if (Info.RequestId is not null)
        {
            info["requestId"] = Info.RequestId;
        }

        if (Info.Statement is not null)
        {
            info["statement"] = Info.Statement;
        }

        return new JsonObject
        {
            ["info"] = info,
            ["supportedChains"] = new JsonArray(SupportedChains.Select(c => (JsonNode)new JsonObject { ["chainId"] = c.ChainId, ["type"] = c.Type }).ToArray()),
        };
    }
}
