using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using X402Orleans.Gateway.Configuration;

namespace X402Orleans.Gateway.Http;

/// <summary>
/// Decides which addresses the gateway may connect to. Loopback, private, link-local (cloud metadata), CGNAT, multicast and
/// unspecified addresses are refused unless <c>X402:Http:AllowPrivateTargets</c> is set or the exact host:port was allowed by the
/// host (the built-in demo paywall's own origin). Checked on the resolved address at connect time, so DNS rebinding cannot slip past.
/// </summary>
public sealed class OutboundPolicy(IOptions<X402Options> options)
{
    private readonly ConcurrentDictionary<string, bool> _allowedEndpoints = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Allows one host:port even though it is private (used for the gateway's own demo paywall).</summary>
    public void AllowEndpoint(string host, int port) => _allowedEndpoints[$"{host}:{port}"] = true;

    /// <summary>Whether connecting to <paramref name="address"/> for <paramref name="host"/>:<paramref name="port"/> is allowed.</summary>
    public bool IsAllowed(string host, int port, IPAddress address) =>
        options.Value.Http.AllowPrivateTargets || !IsPrivate(address) || _allowedEndpoints.ContainsKey($"{host}:{port}");

    /// <summary>True for addresses that are not on the public internet.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6None))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xFE) == 0xFC // fc00::/7 unique local
                || (b[0] == 0x20 && b[1] == 0x02) // 6to4 can embed private IPv4
                || (b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B); // NAT64 64:ff9b::/96
        }

        var v4 = address.GetAddressBytes();
        return v4[0] switch
        {
            0 or 10 or 127 => true,
            100 => v4[1] >= 64 && v4[1] <= 127, // 100.64.0.0/10 carrier-grade NAT
            169 => v4[1] == 254, // link-local, including 169.254.169.254 cloud metadata
            172 => v4[1] >= 16 && v4[1] <= 31,
            192 => (v4[1] == 168) || (v4[1] == 0 && v4[2] == 0) || (v4[1] == 0 && v4[2] == 2),
            198 => v4[1] is 18 or 19,
            >= 224 => true, // multicast and reserved
            _ => false,
        };
    }
}

/// <summary>Thrown when an outbound connection is refused by <see cref="OutboundPolicy"/>.</summary>
public sealed class OutboundRefusedException(string message) : Exception(message)
{
    /// <summary>Creates the exception.</summary>
    public OutboundRefusedException()
        : this("target refused")
    {
    }

    /// <summary>Creates the exception.</summary>
    public OutboundRefusedException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}
