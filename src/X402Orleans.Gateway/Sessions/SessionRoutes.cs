using System.Collections.Concurrent;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Scope;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// Caches the parsed scope that every call through a session would otherwise re-derive from the constant parts of its ticket
/// (endpoint, scope mode). Keyed by those values, not by session, so it holds one entry per distinct endpoint however many
/// sessions share it; bounded, and cleared rather than grown past its bound. (What may be paid is decided by the session grain.)
/// </summary>
internal sealed class SessionRoutes
{
    /// <summary>Most distinct routes kept before the cache starts afresh.</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<(string Endpoint, string Scope), EndpointScope> _routes = new();

    /// <summary>The scope of an allowed ticket.</summary>
    public EndpointScope For(CallTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var key = (ticket.Endpoint, ticket.Scope);
        if (_routes.TryGetValue(key, out var route))
        {
            return route;
        }

        _ = EndpointScope.TryParseMode(ticket.Scope, out var mode);
        if (!EndpointScope.TryCreate(ticket.Endpoint, mode, out var scope, out _))
        {
            throw new ToolError("the session's endpoint is no longer valid");
        }

        if (_routes.Count >= MaxEntries)
        {
            _routes.Clear();
        }

        return _routes.GetOrAdd(key, scope!);
    }
}
