using Microsoft.Extensions.Caching.Memory;
using X402Orleans.Payments.Siwx;

namespace X402Orleans.Gateway.Sessions;

/// <summary>
/// Signed sign-in-with-x proofs per session and resource path, kept in this gateway's memory only while the server-given expiry
/// and the usual 5-minute freshness hold, so reuse costs one round trip. A proof goes only to the path it was signed for (the
/// official server grants access per paid path), so a free path gets no proof and its access is reported as free.
/// </summary>
public sealed class ProofCache : IDisposable
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(15);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 1_000_000 });

    /// <summary>A usable proof for the session and the URL's path, or null.</summary>
    public SiwxProof? Get(Guid sessionId, Uri url, DateTimeOffset now) =>
        _cache.TryGetValue(Key(sessionId, url), out SiwxProof? proof) && proof!.IsUsableAt(now, SiwxSigner.DefaultMaxAge, Margin) ? proof : null;

    /// <summary>Keeps a proof for later calls.</summary>
    public void Put(Guid sessionId, Uri url, SiwxProof proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        _cache.Set(Key(sessionId, url), proof, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = SiwxSigner.DefaultMaxAge });
    }

    /// <summary>Forgets a session's proofs.</summary>
    public void Forget(Guid sessionId, Uri endpoint) => _cache.Remove(Key(sessionId, endpoint));

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();

    private static string Key(Guid sessionId, Uri url) => $"{sessionId:N}|{url.GetLeftPart(UriPartial.Path)}";
}
