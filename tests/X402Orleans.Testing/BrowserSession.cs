using System.Globalization;
using PuppeteerSharp;

namespace X402Orleans.Testing;

/// <summary>What a same-origin fetch made by the page returned (a download as the signed-in browser gets it).</summary>
public sealed record BrowserFetch(int Status, string? ContentType, string? ContentDisposition, string Body);

/// <summary>
/// One headless chromium (the system's: <c>X402_CHROMIUM</c> or /usr/bin/chromium; PuppeteerSharp never downloads a browser)
/// with one page and a fresh profile in a temp folder, deleted on dispose, so every session starts with no cookies. Every wait is
/// bounded by <see cref="Timeout"/>: on selectors, navigations and page functions, never on sleeps.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    /// <summary>The environment variable naming the chromium executable (.ci/chromium.sh prints it).</summary>
    public const string ExecutableVariable = "X402_CHROMIUM";

    /// <summary>The limit on each wait (selector, navigation, page function) and on the browser's launch.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly string[] Arguments =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    private readonly IBrowser _browser;
    private readonly string _profile;

    private BrowserSession(IBrowser browser, IPage page, string profile)
    {
        _browser = browser;
        Page = page;
        _profile = profile;
    }

    /// <summary>The page (for anything this helper does not wrap).</summary>
    public IPage Page { get; }

    /// <summary>The page's current URL.</summary>
    public Uri Url => new(Page.Url);

    /// <summary>The chromium executable the sessions launch.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Where <see cref="ScreenshotAsync"/> saves: <c>screenshots</c> under the test output (.ci/run collects them).</summary>
    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>Launches headless chromium with a fresh profile and opens one page.</summary>
    /// <exception cref="InvalidOperationException">No chromium at <see cref="ExecutablePath"/> (a setup failure, not a skip).</exception>
    public static async Task<BrowserSession> LaunchAsync()
    {
        var executable = ExecutablePath;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"No chromium at '{executable}': run .ci/chromium.sh (installs Debian's chromium) or set {ExecutableVariable} to its path.");
        }

        var profile = Directory.CreateTempSubdirectory("x402-chromium-").FullName;
        IBrowser? browser = null;
        try
        {
            var milliseconds = (int)Timeout.TotalMilliseconds;
            browser = await Puppeteer.LaunchAsync(new LaunchOptions
            {
                ExecutablePath = executable,
                HeadlessMode = HeadlessMode.True,
                Args = [.. Arguments, "--user-data-dir=" + profile],
                Timeout = milliseconds,
                ProtocolTimeout = milliseconds,
                DefaultViewport = new ViewPortOptions { Width = 1280, Height = 900 },
            });
            var page = await browser.NewPageAsync();
            page.DefaultTimeout = milliseconds;
            page.DefaultNavigationTimeout = milliseconds;
            return new BrowserSession(browser, page, profile);
        }
        catch
        {
            if (browser is not null)
            {
                await browser.DisposeAsync();
            }

            DeleteProfile(profile);
            throw;
        }
    }

    /// <summary>Navigates to <paramref name="url"/> (redirects followed) and returns the final document's response.</summary>
    public async Task<IResponse> GoToAsync(string url)
    {
        var response = await Page.GoToAsync(url, WaitUntilNavigation.Load);
        return response ?? throw new InvalidOperationException($"No response navigating to {url}.");
    }

    /// <summary>
    /// Fills the fields of <paramref name="formSelector"/> (keys are selectors inside the form, values replace what is there), then
    /// clicks its submit button as a user would and waits for the navigation; returns the final document's response (after
    /// redirects).
    /// </summary>
    public async Task<IResponse> SubmitFormAsync(string formSelector, IReadOnlyDictionary<string, string>? fields = null)
    {
        await Page.WaitForSelectorAsync(formSelector);
        foreach (var (field, value) in fields ?? new Dictionary<string, string>())
        {
            var found = await Page.EvaluateFunctionAsync<bool>(
                """
                (form, field, value) => {
                  const input = document.querySelector(form)?.querySelector(field);
                  if (!input) return false;
                  input.value = value;
                  input.dispatchEvent(new Event('input', { bubbles: true }));
                  input.dispatchEvent(new Event('change', { bubbles: true }));
                  return true;
                }
                """,
                formSelector, field, value);
            if (!found)
            {
                throw new InvalidOperationException($"No field '{field}' in '{formSelector}' on {Page.Url}.");
            }
        }

        return await NavigateByAsync(
            () => Page.EvaluateFunctionAsync(
                """
                form => {
                  const f = document.querySelector(form);
                  const button = f.querySelector('button[type=submit], input[type=submit], button:not([type])');
                  if (button) button.click(); else f.requestSubmit();
                }
                """,
                formSelector),
            $"submitting {formSelector}");
    }

    /// <summary>Clicks <paramref name="selector"/> (a link or button that navigates) and waits for the navigation.</summary>
    public Task<IResponse> ClickAndWaitAsync(string selector) =>
        NavigateByAsync(() => Page.ClickAsync(selector), $"clicking {selector}");

    /// <summary>The trimmed text of the first element matching <paramref name="selector"/>, once it is in the page.</summary>
    public async Task<string> TextAsync(string selector)
    {
        var element = await Page.WaitForSelectorAsync(selector)
            ?? throw new InvalidOperationException($"No '{selector}' on {Page.Url}.");
        return (await element.EvaluateFunctionAsync<string?>("e => e.textContent") ?? string.Empty).Trim();
    }

    /// <summary>The trimmed texts of every element matching <paramref name="selector"/> (none: empty).</summary>
    public async Task<IReadOnlyList<string>> TextsAsync(string selector) =>
        await Page.EvaluateFunctionAsync<string[]>(
            "s => Array.from(document.querySelectorAll(s), e => (e.textContent || '').trim())", selector);

    /// <summary>
    /// The rows matching <paramref name="rowSelector"/>, each as the trimmed texts of its first match of every
    /// <paramref name="cellSelectors"/> (empty when a row has none), e.g. <c>RowsAsync("tr.agent", "td.agent-id", "td.state")</c>.
    /// </summary>
    public async Task<IReadOnlyList<string[]>> RowsAsync(string rowSelector, params string[] cellSelectors) =>
        await Page.EvaluateFunctionAsync<string[][]>(
            "(rows, cells) => Array.from(document.querySelectorAll(rows), r => cells.map(c => ((r.querySelector(c) || {}).textContent || '').trim()))",
            rowSelector, cellSelectors);

    /// <summary>An attribute of the first element matching <paramref name="selector"/>, once it is in the page (null when absent).</summary>
    public async Task<string?> AttributeAsync(string selector, string attribute)
    {
        var element = await Page.WaitForSelectorAsync(selector)
            ?? throw new InvalidOperationException($"No '{selector}' on {Page.Url}.");
        return await element.EvaluateFunctionAsync<string?>("(e, a) => e.getAttribute(a)", attribute);
    }

    /// <summary>Whether an element matches <paramref name="selector"/> now (no wait).</summary>
    public async Task<bool> ExistsAsync(string selector) => await Page.QuerySelectorAsync(selector) is not null;

    /// <summary>Waits for an element matching <paramref name="selector"/>.</summary>
    public async Task WaitForSelectorAsync(string selector) => _ = await Page.WaitForSelectorAsync(selector);

    /// <summary>
    /// Waits until the trimmed text of <paramref name="selector"/> equals <paramref name="expected"/> (e.g. an element a script
    /// updates after the page loaded); returns it.
    /// </summary>
    public async Task<string> WaitForTextAsync(string selector, string expected)
    {
        await Page.WaitForFunctionAsync(
            "(s, t) => { const e = document.querySelector(s); return !!e && (e.textContent || '').trim() === t; }",
            selector, expected);
        return await TextAsync(selector);
    }

    /// <summary>The browser's cookie <paramref name="name"/> for the current page, or null.</summary>
    public async Task<CookieParam?> CookieAsync(string name) =>
        (await Page.GetCookiesAsync()).FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));

    /// <summary>A same-origin GET made by the page itself (with its cookies), e.g. a download link's target.</summary>
    public async Task<BrowserFetch> FetchAsync(string url)
    {
        var result = await Page.EvaluateFunctionAsync<BrowserFetch>(
            """
            async url => {
              const r = await fetch(url, { credentials: 'same-origin', redirect: 'follow' });
              return { status: r.status, contentType: r.headers.get('content-type'),
                       contentDisposition: r.headers.get('content-disposition'), body: await r.text() };
            }
            """,
            url);
        return result ?? throw new InvalidOperationException($"No result fetching {url}.");
    }

    /// <summary>Saves a full-page screenshot as <c>screenshots/&lt;name&gt;.png</c> under the test output; returns its path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, name.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? name : name + ".png");
        await Page.ScreenshotAsync(path, new ScreenshotOptions { FullPage = true, Type = ScreenshotType.Png });
        return path;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _browser.CloseAsync();
        }
        finally
        {
            await _browser.DisposeAsync();
            DeleteProfile(_profile);
        }
    }

    private async Task<IResponse> NavigateByAsync(Func<Task> action, string what)
    {
        var navigation = Page.WaitForNavigationAsync(new NavigationOptions { WaitUntil = [WaitUntilNavigation.Load] });
        await action();
        var response = await navigation;
        return response ?? throw new InvalidOperationException(
            string.Create(CultureInfo.InvariantCulture, $"No document response after {what} (now at {Page.Url})."));
    }

    private static void DeleteProfile(string profile)
    {
        // The browser may still be releasing its profile files for a moment after it exits; a leftover temp folder is harmless.
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
