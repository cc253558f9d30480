namespace X402Orleans.Payments.Scope;

/// <summary>How far a session's access reaches from its endpoint.</summary>
public enum ScopeMode
{
    /// <summary>The endpoint's path and everything below it on segment boundaries (<c>/v1</c> covers <c>/v1/x</c>, not <c>/v10</c>).</summary>
    Prefix,

    /// <summary>Only the endpoint's path (any query string).</summary>
    Exact,
}

/// <summary>
/// The URLs a session may call: one origin (scheme, host compared case-insensitively after IDN normalisation, port with defaults
/// made explicit) and a path (prefix on segment boundaries, or exact). URLs with userinfo or a fragment are refused.
/// </summary>
public sealed record EndpointScope
{
    private EndpointScope(string origin, string path, ScopeMode mode, Uri endpoint)
    {
        Origin = origin;
        Path = path;
        Mode = mode;
        Endpoint = endpoint;
    }

    /// <summary>Normalised origin, e.g. <c>https://api.example.com:443</c>.</summary>
    public string Origin { get; }

    /// <summary>Normalised path of the endpoint.</summary>
    public string Path { get; }

    /// <summary>Prefix or exact.</summary>
    public ScopeMode Mode { get; }

    /// <summary>The normalised endpoint URL.</summary>
    public Uri Endpoint { get; }

    /// <summary>Parses a scope mode name (<c>prefix</c> | <c>exact</c>, case-insensitive).</summary>
    public static bool TryParseMode(string? text, out ScopeMode mode)
    {
        mode = ScopeMode.Prefix;
        if (string.IsNullOrEmpty(text) || string.Equals(text, "prefix", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (string.Equals(text, "exact", StringComparison.OrdinalIgnoreCase))
        {
            mode = ScopeMode.Exact;
            return true;
        }

        return false;
    }

    /// <summary>Creates a scope from an absolute http(s) endpoint URL.</summary>
    public static bool TryCreate(string? endpoint, ScopeMode mode, out EndpointScope? scope, out string error)
    {
        scope = null;
        if (!TryNormalize(endpoint, out var uri, out error))
        {
            return false;
        }

        scope = new EndpointScope(OriginOf(uri!), uri!.AbsolutePath, mode, uri);
        return true;
    }

    /// <summary>Whether <paramref name="url"/> is inside this scope.</summary>
    public bool Covers(string? url) => TryNormalize(url, out var uri, out _) && Covers(uri!);

    /// <summary>Whether a normalised URL is inside this scope.</summary>
    public bool Covers(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment) || !string.Equals(OriginOf(uri), Origin, StringComparison.Ordinal))
        {
            return false;
        }

        var path = uri.AbsolutePath;
        if (Mode == ScopeMode.Exact || Path == "/")
        {
            return Mode == ScopeMode.Exact ? string.Equals(path, Path, StringComparison.Ordinal) : true;
        }

        var prefix = Path.TrimEnd('/');
        return string.Equals(path, prefix, StringComparison.Ordinal)
            || (path.Length > prefix.Length && path.StartsWith(prefix, StringComparison.Ordinal) && path[prefix.Length] == '/');
    }

    /// <summary>Resolves a URL that may be relative to the endpoint (e.g. a redirect's Location) and checks it is covered.</summary>
    public bool TryResolve(string? urlOrPath, out Uri? resolved)
    {
        resolved = null;
        if (string.IsNullOrEmpty(urlOrPath))
        {
            resolved = Endpoint;
            return true;
        }

        if (!Uri.TryCreate(Endpoint, urlOrPath, out var combined) || !TryNormalize(combined.OriginalString, out var normalized, out _) || !Covers(normalized!))
        {
            return false;
        }

        resolved = normalized;
        return true;
    }

    /// <summary>
    /// Checks and normalises an absolute http(s) URL: host lower-cased and IDN-encoded, default port applied, path dot-segments removed.
    /// Refuses relative URLs, other schemes, userinfo, fragments, empty hosts and over-long input.
    /// </summary>
    public static bool TryNormalize(string? url, out Uri? normalized, out string error)
    {
        normalized = null;
        if (string.IsNullOrWhiteSpace(url))
        {
            error = "URL is empty";
            return false;
        }

        if (url.Length > MaxUrlLength)
        {
            error = $"URL is longer than {MaxUrlLength} characters";
            return false;
        }

        if (url.Any(char.IsControl) || url.Contains(' ', StringComparison.Ordinal) || url.Contains('\\', StringComparison.Ordinal))
        {
            error = "URL contains spaces, backslashes or control characters";
            return false;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            error = "URL must be an absolute http:// or https:// URL";
            return false;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo) || HasUserInfo(url))
        {
            error = "URL must not contain user info (user:password@)";
            return false;
        }

        if (!string.IsNullOrEmpty(uri.Fragment) || url.Contains('#', StringComparison.Ordinal))
        {
            error = "URL must not contain a fragment (#…)";
            return false;
        }

        string host;
        try
        {
            host = uri.IdnHost.ToLowerInvariant();
        }
        catch (UriFormatException)
        {
            error = "URL host is not a valid host name";
            return false;
        }

        if (host.Length == 0 || host.EndsWith('.'))
        {
            error = "URL host is empty or ends with a dot";
            return false;
        }

        var builder = new UriBuilder(uri.Scheme, host, uri.Port, uri.AbsolutePath, uri.Query);
        normalized = builder.Uri;
        error = string.Empty;
        return true;
    }

    /// <summary>Longest URL accepted.</summary>
    public const int MaxUrlLength = 4096;

    private static bool HasUserInfo(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal);
        if (start < 0)
        {
            return false;
        }

        var rest = url[(start + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        var authority = end < 0 ? rest : rest[..end];
        return authority.Contains('@', StringComparison.Ordinal);
    }

    private static string OriginOf(Uri uri) => $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}:{uri.Port}";
}
