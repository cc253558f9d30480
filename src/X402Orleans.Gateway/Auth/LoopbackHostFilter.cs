using System.Net;
using Microsoft.AspNetCore.Http;

namespace X402Orleans.Gateway.Auth;

/// <summary>
/// DNS-rebinding protection for the anonymous loopback mode (no agents configured). Any loopback caller is the anonymous agent
/// there, and a web page whose host name resolves to 127.0.0.1 can make a visitor's browser call the gateway; so <c>/mcp</c> serves
/// only requests that name a loopback host (<c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>, any port) and, when an <c>Origin</c>
/// header is sent, a loopback origin. Anything else gets 403. With agents configured a page cannot present an API key, so it is not needed.
/// </summary>
public static class LoopbackHostFilter
{
    /// <summary>The middleware: 403 for a non-loopback Host or Origin.</summary>
    public static Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var origin = context.Request.Headers.Origin.ToString();
        if (IsLoopbackName(context.Request.Host.Host) && (origin.Length == 0 || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && IsLoopbackName(uri.Host))))
        {
            return next();
        }

        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsync("Refused: with no agents configured, /mcp serves only requests addressed to localhost, 127.0.0.1 or [::1] (DNS-rebinding protection). Configure agents with API keys (X402__Agents__0__Id, X402__Agents__0__ApiKey) to serve other host names.");
    }

    /// <summary>Whether a host name is <c>localhost</c> or a loopback address literal.</summary>
    public static bool IsLoopbackName(string? host) =>
        !string.IsNullOrEmpty(host)
        && (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address)));
}
