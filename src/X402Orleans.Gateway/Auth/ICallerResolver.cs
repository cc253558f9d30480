using Microsoft.AspNetCore.Http;

namespace X402Orleans.Gateway.Auth;

/// <summary>Tells tools which agent is calling.</summary>
public interface ICallerResolver
{
    /// <summary>The calling agent's id, or null when the caller is not authenticated.</summary>
    string? CurrentAgentId { get; }
}

/// <summary>Streamable HTTP: the agent authenticated by <see cref="ApiKeyAuthenticationHandler"/>.</summary>
public sealed class HttpCallerResolver(IHttpContextAccessor accessor) : ICallerResolver
{
    /// <inheritdoc />
    public string? CurrentAgentId => AgentIdentity.Of(accessor.HttpContext?.User);
}

/// <summary>stdio: the process owner is one agent.</summary>
public sealed class FixedCallerResolver(string agentId) : ICallerResolver
{
    /// <inheritdoc />
    public string? CurrentAgentId => agentId;
}
