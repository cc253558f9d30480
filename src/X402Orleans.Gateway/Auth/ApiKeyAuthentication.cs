using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using X402Orleans.Gateway.Configuration;

namespace X402Orleans.Gateway.Auth;

/// <summary>
/// Authenticates agents by <c>Authorization: Bearer &lt;api key&gt;</c>, comparing key hashes in constant time. With no agents
/// configured, every loopback caller is the single anonymous agent <see cref="AgentIdentity.AnonymousAgentId"/> and remote callers are refused.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<X402Options> x402) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "X402ApiKey";

    private readonly (string Id, byte[] Hash)[] _agents = [.. x402.Value.Agents.Select(a => (a.Id, Hash(a.ApiKey)))];

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (_agents.Length == 0)
        {
            var remote = Context.Connection.RemoteIpAddress;
            return Task.FromResult(remote is null || IPAddress.IsLoopback(remote)
                ? Success(AgentIdentity.AnonymousAgentId)
                : AuthenticateResult.Fail("No agents are configured: only loopback callers are served."));
        }

        var header = Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var presented = Hash(header[prefix.Length..].Trim());
        string? match = null;
        foreach (var (id, hash) in _agents)
        {
            // Every configured key is compared, matching or not, so timing says nothing about which key was close.
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                match = id;
            }
        }

        return Task.FromResult(match is null ? AuthenticateResult.Fail("Unknown API key.") : Success(match));
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    private AuthenticateResult Success(string agentId)
    {
        var identity = new ClaimsIdentity([new Claim(AgentIdentity.AgentClaim, agentId), new Claim(ClaimTypes.NameIdentifier, agentId)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>Who is calling a tool.</summary>
public static class AgentIdentity
{
    /// <summary>The claim carrying the agent id.</summary>
    public const string AgentClaim = "x402_agent";

    /// <summary>The agent used when no agents are configured (loopback HTTP) and for stdio.</summary>
    public const string AnonymousAgentId = "local";

    /// <summary>The agent id of an authenticated principal, or null.</summary>
    public static string? Of(ClaimsPrincipal? user) => user?.FindFirst(AgentClaim)?.Value;
}
