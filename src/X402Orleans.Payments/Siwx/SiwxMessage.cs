using System.Text;
using X402Orleans.Payments.Evm;

namespace X402Orleans.Payments.Siwx;

/// <summary>Builds the EIP-4361 (Sign-In with Ethereum) text exactly as the official x402 packages do.</summary>
public static class SiwxMessage
{
    /// <summary>
    /// The message for <paramref name="info"/>, signed by <paramref name="address"/> on <paramref name="caip2ChainId"/> (<c>eip155:N</c>;
    /// the message carries the numeric N). Layout: header, address, statement block (or an empty one), then URI, Version, Chain ID,
    /// Nonce, Issued At and the optional Expiration Time, Not Before, Request ID and Resources lines.
    /// </summary>
    public static string Build(SiwxInfo info, string address, string caip2ChainId)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (!NetworkNames.TryGetEvmChainId(caip2ChainId, out var chainId))
        {
            throw new ArgumentException($"'{caip2ChainId}' is not an eip155 chain", nameof(caip2ChainId));
        }

        var text = new StringBuilder()
            .Append(info.Domain).Append(" wants you to sign in with your Ethereum account:\n")
            .Append(EvmAddress.ToChecksum(address)).Append('\n');
        text.Append(info.Statement is null ? "\n\n" : $"\n{info.Statement}\n\n");
        text.Append("URI: ").Append(info.Uri)
            .Append("\nVersion: ").Append(info.Version)
            .Append("\nChain ID: ").Append(chainId)
            .Append("\nNonce: ").Append(info.Nonce);
        AppendIfPresent(text, "Issued At", info.IssuedAt);
        AppendIfPresent(text, "Expiration Time", info.ExpirationTime);
        AppendIfPresent(text, "Not Before", info.NotBefore);
        if (info.RequestId is not null)
        {
            text.Append("\nRequest ID: ").Append(info.RequestId);
        }

        if (info.Resources is not null)
        {
            text.Append("\nResources:");
            foreach (var resource in info.Resources)
            {
                text.Append("\n- ").Append(resource);
            }
        }

        return text.ToString();
    }

    private static void AppendIfPresent(StringBuilder text, string label, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            text.Append('\n').Append(label).Append(": ").Append(value);
        }
    }
}
