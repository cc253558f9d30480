using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// A misbehaving x402 server on loopback: each route answers one kind of malformed or hostile 402 (or body). It counts the payment
/// headers it receives, so tests can prove nothing was paid.
/// </summary>
public sealed class HostileServer : IAsyncDisposable
{
    private const string Usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    private const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    private readonly WebApplication _app;
    private long _paymentHeaders;

    private HostileServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary>The server's origin.</summary>
    public Uri BaseUri { get; }

    /// <summary>How many requests carried PAYMENT-SIGNATURE or X-PAYMENT.</summary>
    public long PaymentHeaders => Interlocked.Read(ref _paymentHeaders);

    /// <summary>The routes and what each does wrong, with the text the gateway's isError must contain.</summary>
    public static readonly IReadOnlyList<(string Path, string Expect)> Cases =
    [
        ("/no-header-empty-body", "without readable payment requirements"),
        ("/header-not-base64", "not base64"),
        ("/header-not-json", "invalid JSON"),
        ("/header-json-array", "not an object"),
        ("/header-duplicate-keys", "invalid JSON"),
        ("/version-3", "x402Version"),
        ("/accepts-not-array", "'accepts'"),
        ("/accepts-empty", "offers no payment option"),
        ("/wrong-network", "network eip155:1 is not allowed"),
        ("/absurd-price", "exceeds max_payment"),
        ("/negative-amount", "not a non-negative integer"),
        ("/scientific-amount", "not a non-negative integer"),
        ("/asset-not-allowed", "not an allowed asset"),
        ("/payto-not-address", "not an EVM address"),
        ("/missing-extra", "EIP-712 name and version"),
        ("/scheme-upto", "the upto requirement's extra lacks facilitatorAddress"),
        ("/v1-garbage-body", "without readable payment requirements"),
        ("/endless-402-body", "too large"),
        ("/huge-header", "larger than the gateway accepts"),
        ("/phishing-siwx-expensive", "exceeds max_payment"),
        ("/redirect-away", "leaves the session's scope"),
        ("/redirect-loop", "redirects"),
        ("/slow", "timed out"),
        ("/refuses-payment", "refused the payment"),
        ("/too-many-accepts", "more than 64"),
    ];

    /// <summary>Starts the server on a free loopback port.</summary>
    public static async Task<HostileServer> StartAsync()
    {
        var port = FreePorts.One();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var server = new HostileServer(app, new Uri($"http://127.0.0.1:{port}"));
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.Headers.ContainsKey("PAYMENT-SIGNATURE") || ctx.Request.Headers.ContainsKey("X-PAYMENT"))
            {
                Interlocked.Increment(ref server._paymentHeaders);
            }

            await next(ctx);
        });
        server.MapRoutes(app);
        await app.StartAsync();
        return server;
    }

    /// <summary>A URL on this server.</summary>
    public string Url(string path) => new Uri(BaseUri, path).AbsoluteUri;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json));

    private static string Accept(string scheme = "exact", string network = "eip155:84532", string amount = "\"1000\"", string asset = Usdc, string payTo = PayTo, string extra = ",\"extra\":{\"name\":\"USDC\",\"version\":\"2\"}") =>
        $"{{\"scheme\":\"{scheme}\",\"network\":\"{network}\",\"amount\":{amount},\"asset\":\"{asset}\",\"payTo\":\"{payTo}\",\"maxTimeoutSeconds\":300{extra}}}";

    private static string Required(string accepts, string extensions = "") =>
        $"{{\"x402Version\":2,\"error\":\"Payment required\",\"resource\":{{\"url\":\"http://x/\",\"description\":\"\",\"mimeType\":\"\"}},\"accepts\":{accepts}{extensions}}}";

    private static Task Answer402(HttpContext ctx, string? header, string body = "{}")
    {
        ctx.Response.StatusCode = 402;
        if (header is not null)
        {
            ctx.Response.Headers["PAYMENT-REQUIRED"] = header;
        }

        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body);
    }

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/no-header-empty-body", ctx => Answer402(ctx, null, string.Empty));
        app.MapGet("/header-not-base64", ctx => Answer402(ctx, "%%%not base64%%%"));
        app.MapGet("/header-not-json", ctx => Answer402(ctx, B64("this is not json")));
        app.MapGet("/header-json-array", ctx => Answer402(ctx, B64("[1,2,3]")));
        app.MapGet("/header-duplicate-keys", ctx => Answer402(ctx, B64("{\"x402Version\":2,\"x402Version\":2,\"accepts\":[]}")));
        app.MapGet("/version-3", ctx => Answer402(ctx, B64(Required($"[{Accept()}]").Replace("\"x402Version\":2", "\"x402Version\":3", StringComparison.Ordinal))));
        app.MapGet("/accepts-not-array", ctx => Answer402(ctx, B64(Required("{\"a\":1}"))));
        app.MapGet("/accepts-empty", ctx => Answer402(ctx, B64(Required("[]"))));
        app.MapGet("/wrong-network", ctx => Answer402(ctx, B64(Required($"[{Accept(network: "eip155:1")}]"))));
        app.MapGet("/absurd-price", ctx => Answer402(ctx, B64(Required($"[{Accept(amount: "\"1000000000000000000000000000000\"")}]"))));
        app.MapGet("/negative-amount", ctx => Answer402(ctx, B64(Required($"[{Accept(amount: "\"-1\"")}]"))));
        app.MapGet("/scientific-amount", ctx => Answer402(ctx, B64(Required($"[{Accept(amount: "\"1e6\"")}]"))));
        app.MapGet("/asset-not-allowed", ctx => Answer402(ctx, B64(Required($"[{Accept(asset: "0x1111111111111111111111111111111111111111")}]"))));
        app.MapGet("/payto-not-address", ctx => Answer402(ctx, B64(Required($"[{Accept(payTo: "evil")}]"))));
        app.MapGet("/missing-extra", ctx => Answer402(ctx, B64(Required($"[{Accept(extra: string.Empty)}]"))));
        app.MapGet("/scheme-upto", ctx => Answer402(ctx, B64(Required($"[{Accept(scheme: "upto")}]"))));
        app.MapGet("/v1-garbage-body", ctx => Answer402(ctx, null, "{\"x402Version\":1,\"accepts\":\"garbage\"}"));
        app.MapGet("/endless-402-body", async ctx =>
        {
            ctx.Response.StatusCode = 402;
            var chunk = Encoding.UTF8.GetBytes(new string('x', 64 * 1024));
            // Ends by itself after 64 MiB at most; the gateway stops reading long before.
            for (var i = 0; i < 1024 && !ctx.RequestAborted.IsCancellationRequested; i++)
            {
                await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
            }
        });
        app.MapGet("/huge-header", ctx => Answer402(ctx, new string('A', 70 * 1024)));
        app.MapGet("/phishing-siwx-expensive", ctx => Answer402(ctx, B64(Required(
            $"[{Accept(amount: "\"999000000\"")}]",
            ",\"extensions\":{\"sign-in-with-x\":{\"info\":{\"domain\":\"evil.example\",\"uri\":\"https://evil.example/x\",\"version\":\"1\",\"nonce\":\"abcdef0123456789\",\"issuedAt\":\"2026-01-01T00:00:00.000Z\"},\"supportedChains\":[{\"chainId\":\"eip155:84532\",\"type\":\"eip191\"}]}}"))));
        app.MapGet("/redirect-away", ctx =>
        {
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = "http://evil.example/steal";
            return Task.CompletedTask;
        });
        app.MapGet("/redirect-loop", ctx =>
        {
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = "/redirect-loop";
            return Task.CompletedTask;
        });
        app.MapGet("/slow", async ctx =>
        {
            // Holds the response until the client gives up (bounded: 30 s at most).
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await ctx.Response.WriteAsync("late");
        });
        app.MapGet("/refuses-payment", ctx =>
        {
            var header = ctx.Request.Headers.ContainsKey("PAYMENT-SIGNATURE")
                ? B64(Required($"[{Accept()}]").Replace("Payment required", "invalid_exact_evm_insufficient_balance", StringComparison.Ordinal))
                : B64(Required($"[{Accept()}]"));
            return Answer402(ctx, header);
        });
        app.MapGet("/too-many-accepts", ctx => Answer402(ctx, B64(Required("[" + string.Join(",", Enumerable.Repeat(Accept(), 65)) + "]"))));
        app.MapGet("/endless-200", async ctx =>
        {
            ctx.Response.ContentType = "text/plain";
            var chunk = Encoding.UTF8.GetBytes(new string('y', 64 * 1024));
            for (var i = 0; i < 1024 && !ctx.RequestAborted.IsCancellationRequested; i++)
            {
                await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
            }
        });
    }
}
