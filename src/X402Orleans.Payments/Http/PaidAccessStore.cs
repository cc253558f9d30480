using System.Collections.Concurrent;
using X402Orleans.Payments.Scope;

namespace X402Orleans.Payments.Http;

/// <summary>
/// What a server's sign-in-with-x memory is keyed by: the payer (lower-cased address) and the paid resource (normalised origin and
/// path, no query). Official servers record "has paid" per resource path and payer at settlement.
/// </summary>
/// <param name="Payer">The paying wallet, lower-cased.</param>
/// <param name="Origin">Normalised origin, e.g. <c>https://api.example.com:443</c>.</param>
/// <param name="Path">The resource's path.</param>
public sealed record PaidAccessKey(string Payer, string Origin, string Path)
{
    /// <summary>
    /// The key for a payment by <paramref name="payer"/> for <paramref name="resourceUrl"/> (the 402's <c>resource.url</c>) answered
    /// to a request for <paramref name="requestUrl"/>. A resource URL on another origin than the request's is not trusted: the
    /// request URL is used instead, so a server can never make this client believe it paid somewhere else.
    /// </summary>
    public static PaidAccessKey? For(string payer, Uri requestUrl, string? resourceUrl)
    {
        ArgumentNullException.ThrowIfNull(payer);
        ArgumentNullException.ThrowIfNull(requestUrl);
        if (!EndpointScope.TryCreate(requestUrl.AbsoluteUri, ScopeMode.Exact, out var request, out _))
        {
            return null;
        }

        var scope = request!;
        if (EndpointScope.TryCreate(resourceUrl, ScopeMode.Exact, out var resource, out _) && resource!.Origin == scope.Origin)
        {
            scope = resource;
        }

        return new PaidAccessKey(payer.ToLowerInvariant(), scope.Origin, scope.Path);
    }
}

/// <summary>
/// Remembers which resources a wallet has paid for, so that a later 402 offering sign-in-with-x is answered with a proof instead of a
/// second payment. Implementations must be thread-safe; replace the in-memory default to keep the memory across restarts.
/// </summary>
public interface IPaidAccessStore
{
    /// <summary>Whether the payer has paid for the resource before.</summary>
    ValueTask<bool> HasPaidAsync(PaidAccessKey key, CancellationToken cancellationToken = default);

    /// <summary>Records a settled payment for the resource.</summary>
    ValueTask RecordPaidAsync(PaidAccessKey key, CancellationToken cancellationToken = default);
}

/// <summary>The default <see cref="IPaidAccessStore"/>: in memory, for the life of the handler (or of the instance shared between handlers).</summary>
public sealed class InMemoryPaidAccessStore : IPaidAccessStore
{
    private readonly ConcurrentDictionary<PaidAccessKey, byte> _paid = new();

    /// <inheritdoc />
    public ValueTask<bool> HasPaidAsync(PaidAccessKey key, CancellationToken cancellationToken = default) => ValueTask.FromResult(_paid.ContainsKey(key));

    /// <inheritdoc />
    public ValueTask RecordPaidAsync(PaidAccessKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        _paid.TryAdd(key, 0);
        return ValueTask.CompletedTask;
    }
}
