using System.Security.Cryptography;
using System.Text;

namespace X402Orleans.Abstractions;

/// <summary>Session ids of starts: derived from (agent, idempotency key), so every retry of a start reaches the same session grain.</summary>
public static class SessionIds
{
    /// <summary>
    /// The session id of <paramref name="agentId"/>'s start with <paramref name="idempotencyKey"/>: the first 16 bytes of
    /// SHA-256 over a domain tag, the agent and the key, as an RFC 9562 version-8 UUID (another agent's key never collides).
    /// </summary>
    public static Guid ForStart(string agentId, string idempotencyKey)
    {
        ArgumentNullException.ThrowIfNull(agentId);
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"x402orleans/start/v1\n{agentId}\n{idempotencyKey}"), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
