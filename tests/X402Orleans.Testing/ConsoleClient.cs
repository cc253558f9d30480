using System.Net;
using System.Text.RegularExpressions;

namespace X402Orleans.Testing;

/// <summary>
/// A browser-like HTTP client of the operator console: keeps cookies, does not follow redirects, posts forms with their
/// antiforgery token. Clients given the same <see cref="CookieContainer"/> share a sign-in (e.g. across a cluster's processes).
/// </summary>
public sealed partial class ConsoleClient : IDisposable
{
    /// <summary>The operator key the signed-in tests configure (at least 32 characters).</summary>
    public const string AdminKey = "console-tests-operator-key-0123456789abcdef";

    private readonly HttpClient _http;

    /// <summary>A client of the console at <paramref name="baseUri"/>, with its own cookies or <paramref name="cookies"/>.</summary>
    public ConsoleClient(Uri baseUri, CookieContainer? cookies = null)
    {
        Cookies = cookies ?? new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = baseUri,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    /// <summary>A client of <paramref name="host"/>'s console with its own cookies.</summary>
    public ConsoleClient(GatewayHost host)
        : this((host ?? throw new ArgumentNullException(nameof(host))).BaseUri)
    {
    }

    /// <summary>The client's cookies.</summary>
    public CookieContainer Cookies { get; }

    /// <summary>Settings that turn the console on.</summary>
    public static Dictionary<string, string?> AdminSettings(int attemptsPerMinute = 1000) => new()
    {
        ["X402:Admin:ApiKey"] = AdminKey,
        ["X402:Console:SignInAttemptsPerMinute"] = attemptsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>A GET; <paramref name="accept"/> as the Accept header when given.</summary>
    public async Task<HttpResponseMessage> GetAsync(string path, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return await _http.SendAsync(request);
    }

    /// <summary>A GET's body; throws unless the answer is 200.</summary>
    public async Task<string> GetPageAsync(string path)
    {
        using var response = await GetAsync(path, "text/html");
        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK
            ? body
            : throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode}\n{body}");
    }

    /// <summary>POSTs a form; the antiforgery token is taken from <paramref name="tokenSource"/>'s HTML when given (none otherwise).</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string path, IReadOnlyDictionary<string, string> fields, string? tokenSource)
    {
        var form = new Dictionary<string, string>(fields);
        if (tokenSource is not null)
        {
            form["__RequestVerificationToken"] = Token(tokenSource);
        }

        using var content = new FormUrlEncodedContent(form);
        return await _http.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    /// <summary>Loads the sign-in page and posts <paramref name="key"/> with its antiforgery token.</summary>
    public async Task<HttpResponseMessage> SignInAsync(string key)
    {
        var page = await GetPageAsync("/console/signin");
        return await PostFormAsync("/console/signin", new Dictionary<string, string> { ["key"] = key }, page);
    }

    /// <summary>Signs in with the operator key; throws unless the answer is the redirect to /console.</summary>
    public async Task SignInAsOperatorAsync()
    {
        using var response = await SignInAsync(AdminKey);
        if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location?.OriginalString != "/console")
        {
            throw new InvalidOperationException($"sign-in answered {(int)response.StatusCode} (Location '{response.Headers.Location}'), not 302 to /console");
        }
    }

    /// <summary>The antiforgery token in a page's HTML; throws when there is none.</summary>
    public static string Token(string html)
    {
        var match = TokenPattern().Match(html);
        return match.Success
            ? WebUtility.HtmlDecode(match.Groups[1].Value)
            : throw new InvalidOperationException("no antiforgery token in the page");
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<input[^>]*name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
