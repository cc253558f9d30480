using System.Collections.Concurrent;
using X402Orleans.Abstractions;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Scope;

namespace X402Orleans.Gateway.Sessions;

/// <summary>What a call through a session needs besides its ticket: the parsed scope and the payment policy.</summary>
/// <param name="Scope">Where the request may go (redirects included).</param>
/// <param name="Policy">The gateway's policy with the session's max_payment.</param>
internal sealed record SessionRoute(EndpointScope Scope, PaymentPolicy Policy);

/// <summary>
/// Caches what every call through a session would otherwise re-derive from the constant parts of its ticket (endpoint, scope
/// mode, max_payment). Keyed by those values, not by session, so it holds one entry per distinct endpoint policy however many
/// sessions share it; bounded, and cleared rather than grown past its bound.
/// </summary>
internal sealed class SessionRoutes(PaymentPolicy policy)
{
    /// <summary>Most distinct routes kept before the cache starts afresh.</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<(string Endpoint, string Scope, string MaxPayment), SessionRoute> _routes = new();

    /// <summary>The route of an allowed ticket.</summary>
    public SessionRoute For(CallTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var key = (ticket.Endpoint, ticket.Scope, ticket.MaxPayment);
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

        return _routes.GetOrAdd(key, new SessionRoute(scope!, policy.WithMaxPayment(ticket.MaxPayment)));
    }
}
