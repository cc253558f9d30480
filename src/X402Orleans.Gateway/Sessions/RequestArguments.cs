using System.Globalization;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Http;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Gateway.Sessions;

/// <summary>Checks the request-shaping arguments shared by start and fetch (method, headers, body, timeout).</summary>
internal static class RequestArguments
{
    private static readonly HashSet<string> Methods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };

    // Hop-by-hop and framing headers the gateway controls.
    private static readonly HashSet<string> Forbidden = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Content-Length", "Transfer-Encoding", "Upgrade", "TE", "Trailer", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Expect", "Cookie",
    };

    public const int MaxHeaders = 50;
    public const int MaxHeaderValueChars = 8192;

    public static UpstreamRequest Build(Uri url, string? method, IReadOnlyDictionary<string, string>? headers, string? body, int? timeoutMs, HttpOptions http)
    {
        var verb = string.IsNullOrEmpty(method) ? "GET" : method.ToUpperInvariant();
        if (!Methods.Contains(verb))
        {
            throw new ToolError($"method must be one of GET, POST, PUT, PATCH, DELETE, HEAD (got '{Clip(method!)}')");
        }

        var timeout = timeoutMs ?? http.DefaultTimeoutMs;
        if (timeout is < 1000 or > 60000)
        {
            throw new ToolError($"timeout_ms must be between 1000 and 60000 (got {timeout.ToString(CultureInfo.InvariantCulture)})");
        }

        if (body is not null && System.Text.Encoding.UTF8.GetByteCount(body) > http.MaxRequestBytes)
        {
            throw new ToolError($"body is larger than {http.MaxRequestBytes} bytes");
        }

        if (body is not null && verb is "GET" or "HEAD")
        {
            throw new ToolError($"a {verb} request cannot carry a body; use POST, PUT or PATCH");
        }

        if (headers is null or { Count: 0 })
        {
            return new UpstreamRequest(Verb(verb), url, NoHeaders, body, TimeSpan.FromMilliseconds(timeout));
        }

        var checkedHeaders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (headers.Count > MaxHeaders)
        {
            throw new ToolError($"headers has more than {MaxHeaders} entries");
        }

        foreach (var (name, value) in headers)
        {
            if (string.IsNullOrEmpty(name) || name.Length > 256 || !name.All(IsTokenChar))
            {
                throw new ToolError($"header name '{Clip(name)}' is not a valid HTTP header name");
            }

            if (X402Headers.Reserved.Contains(name))
            {
                throw new ToolError($"header '{name}' is set by the gateway and cannot be supplied by the caller");
            }

            if (Forbidden.Contains(name))
            {
                throw new ToolError($"header '{name}' cannot be supplied by the caller");
            }

            if (value is null || value.Length > MaxHeaderValueChars || value.Any(c => c is '\r' or '\n' or '\0'))
            {
                throw new ToolError($"header '{name}' has an invalid value (missing, longer than {MaxHeaderValueChars} characters, or containing line breaks)");
            }

            checkedHeaders[name] = value;
        }

        return new UpstreamRequest(Verb(verb), url, checkedHeaders, body, TimeSpan.FromMilliseconds(timeout));
    }

    private static readonly Dictionary<string, string> NoHeaders = new(StringComparer.OrdinalIgnoreCase);

    private static HttpMethod Verb(string verb) => verb switch
    {
        "GET" => HttpMethod.Get,
        "POST" => HttpMethod.Post,
        "PUT" => HttpMethod.Put,
        "PATCH" => HttpMethod.Patch,
        "DELETE" => HttpMethod.Delete,
        "HEAD" => HttpMethod.Head,
        _ => new HttpMethod(verb),
    };

    public static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "…";

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
