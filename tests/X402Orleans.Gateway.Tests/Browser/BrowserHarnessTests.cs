using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace X402Orleans.Gateway.Tests.Browser;

/// <summary>
/// Proves <see cref="BrowserSession"/> against a tiny site this test serves on loopback: a form posted by the browser, a cookie
/// the browser keeps across navigations, a screenshot written, and an element a script fills in after the page loaded.
/// </summary>
public sealed class BrowserHarnessTests(HarnessSite site) : IClassFixture<HarnessSite>
{
    [Fact]
    public async Task SubmitForm_ShowsThePostedValueAndKeepsTheCookie_AcrossNavigations()
    {
        await using var browser = await BrowserSession.LaunchAsync();
        await browser.GoToAsync(site.Url("/"));

        var response = await browser.SubmitFormAsync("form#greet", new Dictionary<string, string> { ["input[name=name]"] = "Ada" });

        Assert.Equal((int)HttpStatusCode.OK, (int)response.Status);
        Assert.Equal("/hello", browser.Url.AbsolutePath);
        Assert.Equal("Hello, Ada", await browser.TextAsync("#greeting"));
        Assert.Equal("Ada", (await browser.CookieAsync("harness_name"))?.Value);
        await browser.ClickAndWaitAsync("a#elsewhere");
        Assert.Equal("/elsewhere", browser.Url.AbsolutePath);
        Assert.Equal("Ada", await browser.TextAsync("#remembered"));
        Assert.Equal([["1", "one"], ["2", ""]], await browser.RowsAsync("tr.row", "td.n", "td.v"));
        await browser.GoToAsync(site.Url("/"));
        Assert.Equal("Ada", await browser.TextAsync("#remembered"));
    }

    [Fact]
    public async Task Screenshot_WritesAPngUnderTheTestOutput_WhenAPageIsShown()
    {
        await using var browser = await BrowserSession.LaunchAsync();
        await browser.GoToAsync(site.Url("/"));
        var expected = Path.Combine(BrowserSession.ScreenshotDirectory, "harness.png");
        if (File.Exists(expected))
        {
            File.Delete(expected); // the folder does not exist yet on a fresh clone (.ci/run deletes it before the suites)
        }

        var path = await browser.ScreenshotAsync("harness");

        Assert.Equal(expected, path);
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.True(bytes.Length > 1000, $"a {bytes.Length}-byte screenshot is too small to show the page");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
    }

    [Fact]
    public async Task WaitForText_SeesTheValueAScriptWritesAfterLoad_WhenTheServerAnswersLater()
    {
        await using var browser = await BrowserSession.LaunchAsync();
        var release = site.HoldNextValue();
        await browser.GoToAsync(site.Url("/live"));
        Assert.Equal("waiting", await browser.TextAsync("#live"));

        release.SetResult("42");

        Assert.Equal("42", await browser.WaitForTextAsync("#live", "42"));
    }

    [Fact]
    public async Task Fetch_ReturnsTheDownloadWithTheBrowsersCookie_WhenALinkPointsAtIt()
    {
        await using var browser = await BrowserSession.LaunchAsync();
        await browser.GoToAsync(site.Url("/"));
        await browser.SubmitFormAsync("form#greet", new Dictionary<string, string> { ["input[name=name]"] = "Grace" });

        var download = await browser.FetchAsync((await browser.AttributeAsync("a#download", "href"))!);

        Assert.Equal(200, download.Status);
        Assert.StartsWith("text/csv", download.ContentType, StringComparison.Ordinal);
        Assert.Equal("name\nGrace\n", download.Body);
    }
}

/// <summary>The tiny site <see cref="BrowserHarnessTests"/> drives, on a free loopback port.</summary>
public sealed class HarnessSite : IAsyncLifetime
{
    private const string Cookie = "harness_name";
    private WebApplication? _app;
    private TaskCompletionSource<string> _value = Released("0");

    /// <summary>The site's origin.</summary>
    public Uri BaseUri { get; private set; } = new("http://127.0.0.1");

    /// <summary>An absolute URL on the site.</summary>
    public string Url(string path) => new Uri(BaseUri, path).AbsoluteUri;

    /// <summary>Makes the next /value answer wait until the returned source is given a value.</summary>
    public TaskCompletionSource<string> HoldNextValue() =>
        _value = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task InitializeAsync()
    {
        BaseUri = new Uri($"http://127.0.0.1:{FreePorts.One()}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(BaseUri.AbsoluteUri);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGet("/", (HttpContext ctx) => Page(
            $"""
            <form id="greet" method="post" action="/hello"><input name="name" type="text"><button type="submit">Go</button></form>
            <p id="remembered">{Remembered(ctx)}</p>
            """));
        app.MapPost("/hello", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            ctx.Response.Cookies.Append(Cookie, form["name"].ToString(), new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict });
            return Results.Redirect("/hello?name=" + Uri.EscapeDataString(form["name"].ToString()));
        });
        app.MapGet("/hello", (string name) => Page(
            $"""<p id="greeting">Hello, {WebUtility.HtmlEncode(name)}</p><a id="elsewhere" href="/elsewhere">on</a> <a id="download" href="/names.csv">csv</a>"""));
        app.MapGet("/elsewhere", (HttpContext ctx) => Page(
            $"""
            <p id="remembered">{Remembered(ctx)}</p>
            <table><tr class="row"><td class="n">1</td><td class="v"> one </td></tr><tr class="row"><td class="n">2</td></tr></table>
            """));
        app.MapGet("/names.csv", (HttpContext ctx) => Results.Text($"name\n{ctx.Request.Cookies[Cookie]}\n", "text/csv"));
        app.MapGet("/live", () => Page(
            """
            <p id="live">waiting</p>
            <script>fetch('/value').then(r => r.text()).then(t => { document.getElementById('live').textContent = t; });</script>
            """));
        app.MapGet("/value", async () => Results.Text(await _value.Task));
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(limit.Token);
        _app = app;
    }

    public async Task DisposeAsync()
    {
        _value.TrySetResult("0");
        if (_app is not null)
        {
            await Hosts.StopAndDisposeAsync(_app);
        }
    }

    private static string Remembered(HttpContext ctx) => WebUtility.HtmlEncode(ctx.Request.Cookies[Cookie] ?? "nobody");

    private static IResult Page(string body) =>
        Results.Content($"<!doctype html><html><head><title>harness</title></head><body><h1>Harness</h1>{body}</body></html>", "text/html; charset=utf-8");

    private static TaskCompletionSource<string> Released(string value)
    {
        var source = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult(value);
        return source;
    }
}
