using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using X402Orleans.Gateway.Configuration;

namespace X402Orleans.OperatorConsole.Auth;

/// <summary>
/// Finds the operator a presented key belongs to (X402:Admin): the single ApiKey is the operator "admin", each Operators entry is
/// its Name. Every configured key is compared, in constant time, whatever matches; agents' keys never match (the options
/// validator keeps them distinct, and they are refused here too).
/// </summary>
public sealed class OperatorKeys
{
    /// <summary>The name of the operator whose key is X402:Admin:ApiKey.</summary>
    public const string AdminName = "admin";

    private readonly IReadOnlyList<(string Name, byte[] Hash)> _operators;
    private readonly IReadOnlyList<byte[]> _agents;

    /// <summary>Reads the keys from the options.</summary>
    public OperatorKeys(IOptions<X402Options> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var admin = options.Value.Admin;
        var operators = new List<(string, byte[])>();
        if (!string.IsNullOrEmpty(admin.ApiKey))
        {
            operators.Add((AdminName, Hash(admin.ApiKey)));
        }

        operators.AddRange(admin.Operators.Where(o => !string.IsNullOrEmpty(o.ApiKey)).Select(o => (o.Name, Hash(o.ApiKey))));
        _operators = operators;
        _agents = [.. options.Value.Agents.Where(a => !string.IsNullOrEmpty(a.ApiKey)).Select(a => Hash(a.ApiKey))];
    }

    /// <summary>The operator named by <paramref name="key"/>, or null when it is no operator's key.</summary>
    public string? Find(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 1024)
        {
            return null;
        }

        var presented = Hash(key);
        string? found = null;
        foreach (var (name, hash) in _operators)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                found ??= name;
            }
        }

        var isAgent = false;
        foreach (var hash in _agents)
        {
            isAgent |= CryptographicOperations.FixedTimeEquals(presented, hash);
        }

        return isAgent ? null : found;
    }

    // Comparing fixed-length digests keeps the comparison's time independent of where, or whether, the lengths differ.
    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
