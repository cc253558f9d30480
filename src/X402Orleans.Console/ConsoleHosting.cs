using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using X402Orleans.Gateway;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Observability;
using X402Orleans.OperatorConsole.Auth;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole;

/// <summary>
/// Adds and maps the operator console under <c>/console</c>. It is on only when an operator key is configured
/// (<c>X402:Admin:ApiKey</c> or <c>X402:Admin:Operators</c>); otherwise nothing is registered and every /console route is 404.
/// </summary>
public static partial class ConsoleHosting
{
    /// <summary>The authentication scheme and the authorization policy of signed-in operators.</summary>
    public const string PolicyName = "X402Operator";

    /// <summary>The sign-in cookie.</summary>
    public const string CookieName = "x402_console";

    /// <summary>The console's path.</summary>
    public const string BasePath = "/console";

    /// <summary>The sign-in page.</summary>
    public const string SignInPath = BasePath + "/signin";

    /// <summary>Registers the console's services when an operator key is configured (reads <c>X402:Admin</c> and <c>X402:Console</c>).</summary>
    public static IServiceCollection AddX402Console(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddX402Options(configuration);
        var admin = configuration.GetSection(X402Options.SectionName).GetSection(nameof(X402Options.Admin)).Get<AdminOptions>() ?? new AdminOptions();
        services.AddSingleton(new ConsoleSwitch(admin.Enabled));
        if (!admin.Enabled)
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddRazorPages().AddApplicationPart(typeof(ConsoleHosting).Assembly);
        services.AddAuthentication().AddCookie(PolicyName, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.Path = BasePath;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromMinutes(30);
            o.SlidingExpiration = true;
            o.LoginPath = SignInPath;
            o.Events.OnRedirectToLogin = c => Challenge(c.HttpContext);
            o.Events.OnRedirectToAccessDenied = c =>
            {
                c.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
        });
        services.AddAuthorization(o => o.AddPolicy(PolicyName, p => p.AddAuthenticationSchemes(PolicyName).RequireAuthenticatedUser()));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = CookieName + "_af";
            o.Cookie.Path = BasePath;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddSingleton<OperatorKeys>();
        services.AddSingleton(new SignInThrottle(configuration.GetValue(SignInThrottle.Setting, SignInThrottle.DefaultAttemptsPerMinute)));
        services.AddSingleton<FleetView>();
        return services;
    }

    /// <summary>
    /// Maps the console (call before the gateway's endpoints): security headers and operator authentication on /console, the
    /// pages, the overview API, the CSV export and the actions. Without an operator key it maps nothing and logs how to enable it.
    /// </summary>
    public static WebApplication MapX402Console(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("X402Orleans.OperatorConsole");
        if (app.Services.GetService<ConsoleSwitch>() is not { Enabled: true })
        {
            app.Lifetime.ApplicationStarted.Register(() => Log.Off(logger));
            return app;
        }

        app.UseWhen(IsConsole, console =>
        {
            console.Use(SecurityHeaders);
            console.UseAuthentication();
            console.UseAuthorization();
        });
        app.MapRazorPages();
        app.MapGet(BasePath + "/assets/{name}", ConsoleAssets.Serve).AllowAnonymous();
        ConsoleEndpoints.Map(app.MapGroup(BasePath).RequireAuthorization(PolicyName));
        app.MapX402OrleansDashboard(BasePath + "/dashboard").RequireAuthorization(PolicyName);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            {
                Log.On(logger, address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal).TrimEnd('/') + BasePath);
            }
        });
        return app;
    }

    /// <summary>Whether the request is for the console.</summary>
    private static bool IsConsole(HttpContext context) => context.Request.Path.StartsWithSegments(BasePath, StringComparison.OrdinalIgnoreCase);

    /// <summary>Signed out: browsers (GET of a page, or of the API/dashboard accepting HTML) go to the sign-in page; anything else is 401.</summary>
    private static Task Challenge(HttpContext context)
    {
        var path = context.Request.Path;
        var machine = path.StartsWithSegments(BasePath + "/api", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments(BasePath + "/dashboard", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments(BasePath + "/payments.csv", StringComparison.OrdinalIgnoreCase);
        var browser = HttpMethods.IsGet(context.Request.Method)
            && (!machine || context.Request.Headers.Accept.Any(a => a?.Contains("text/html", StringComparison.OrdinalIgnoreCase) == true));
        if (browser)
        {
            context.Response.Redirect(SignInPath);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        }

        return Task.CompletedTask;
    }

    private static Task SecurityHeaders(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        // The Orleans dashboard's page bootstraps with an inline script and inline styles: it gets no CSP (still same-origin,
        // behind the operator sign-in, never framed); the console's own pages allow nothing inline.
        if (!context.Request.Path.StartsWithSegments(BasePath + "/dashboard", StringComparison.OrdinalIgnoreCase))
        {
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        }

        headers.XFrameOptions = "DENY";
        // Exactly what antiforgery sets on a page with a form: anything else makes it override them and log a warning per page.
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        return next(context);
    }

    /// <summary>Whether this process serves the console (an operator key is configured).</summary>
    internal sealed record ConsoleSwitch(bool Enabled);

    private static partial class Log
    {
        [LoggerMessage(1310, LogLevel.Information, "Operator console off: set X402__Admin__ApiKey (at least 32 characters, not an agent's key) to open it at /console")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(1311, LogLevel.Information, "Operator console at {Url} (sign in with an operator key)")]
        public static partial void On(ILogger logger, string url);
    }
}

/// <summary>The console's script and style, embedded in this assembly.</summary>
internal static class ConsoleAssets
{
    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        ["console.js"] = "text/javascript; charset=utf-8",
        ["console.css"] = "text/css; charset=utf-8",
    };

    public static IResult Serve(string name)
    {
        if (!Types.TryGetValue(name, out var type) || typeof(ConsoleAssets).Assembly.GetManifestResourceStream("X402Orleans.OperatorConsole.Assets." + name) is not { } stream)
        {
            return Results.NotFound();
        }

        return Results.Stream(stream, type);
    }
}

/// <summary>The console's endpoints other than pages: the overview API, the CSV export and the POST actions (antiforgery checked).</summary>
internal static class ConsoleEndpoints
{
    public static void Map(RouteGroupBuilder console)
    {
        console.MapGet("/api/overview", async (FleetView fleet, CancellationToken ct) => Results.Json(OverviewJson.From(await fleet.OverviewAsync(ct))));
        console.MapGet("/payments.csv", async (FleetView fleet, string? agent, string? outcome, CancellationToken ct) =>
            Results.Text(PaymentCsv.Write(await fleet.PaymentsAsync(agent, outcome, ct)), "text/csv; charset=utf-8"));
        console.MapPost("/controls/{name}", (HttpContext context, FleetView fleet, string name, IGrainFactory grains) => ActAsync(context, async op =>
        {
            var controls = grains.GetGrain<Abstractions.IOperatorControlGrain>(0);
            _ = name switch
            {
                "pause-payments" => await controls.SetPaymentsPaused(op, true),
                "resume-payments" => await controls.SetPaymentsPaused(op, false),
                "stop-calls" => await controls.SetCallsStopped(op, true),
                "resume-calls" => await controls.SetCallsStopped(op, false),
                _ => null,
            } ?? throw new KeyNotFoundException(name);
            return ConsoleHosting.BasePath;
        }));
        console.MapPost("/agents/{id}/{action}", (HttpContext context, FleetView fleet, string id, string action, IGrainFactory grains) => ActAsync(context, async op =>
        {
            if (!fleet.IsAgent(id) || action is not ("suspend" or "resume"))
            {
                throw new KeyNotFoundException(id);
            }

            await grains.GetGrain<Abstractions.IOperatorControlGrain>(0).SetAgentSuspended(op, id, action == "suspend");
            return ConsoleHosting.BasePath + "/agents";
        }));
        console.MapPost("/sessions/{id:guid}/end", (HttpContext context, Guid id, IGrainFactory grains) => ActAsync(context, async op =>
        {
            _ = await grains.GetGrain<Abstractions.ISessionOperatorGrain>(id).EndByOperator(op) ?? throw new KeyNotFoundException(id.ToString());
            return ConsoleHosting.BasePath + "/sessions/" + id.ToString();
        }));
        console.MapPost("/signout", (Func<HttpContext, Task<IResult>>)(context => ActAsync(context, async _ =>
        {
            await context.SignOutAsync(ConsoleHosting.PolicyName);
            return ConsoleHosting.SignInPath;
        })));
    }

    /// <summary>Checks the antiforgery token (400 without a valid one), runs the action as the signed-in operator, then 302 to where it says.</summary>
    private static async Task<IResult> ActAsync(HttpContext context, Func<string, Task<string>> action)
    {
        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.BadRequest("The form's antiforgery token is missing or invalid: reload the page and try again.");
        }

        var operatorName = context.User.Identity?.Name ?? throw new InvalidOperationException("No operator is signed in.");
        try
        {
            return Results.Redirect(await action(operatorName));
        }
        catch (KeyNotFoundException)
        {
            return Results.NotFound();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            context.RequestServices.GetRequiredService<FleetView>().ReadFailed("the action " + context.Request.Path, ex);
            return Results.Text(string.Create(CultureInfo.InvariantCulture, $"The cluster did not take the action ({ex.GetType().Name}): try again."), "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}

/// <summary>The JSON shape of GET /console/api/overview.</summary>
internal static class OverviewJson
{
    public static object From(OverviewData data) => new Dictionary<string, object?>
    {
        ["silos"] = (data.Silos ?? []).Select(s => new Dictionary<string, object?> { ["address"] = s.Address, ["status"] = s.Status }),
        ["active_sessions"] = data.ActiveSessions,
        ["calls_per_second"] = data.CallsPerSecond,
        ["p50_ms"] = data.P50Ms,
        ["series"] = data.Series.Select(p => new Dictionary<string, object?> { ["start"] = p.Start, ["calls"] = p.Calls, ["errors"] = p.Errors, ["p50_ms"] = p.P50Ms }),
        ["payments_today"] = (data.PaymentsToday ?? []).Select(a => new Dictionary<string, object?>
        {
            ["asset"] = a.Asset, ["symbol"] = a.Symbol, ["network"] = a.Network, ["decimals"] = a.Decimals, ["spent"] = a.Spent, ["limit"] = a.Limit,
            ["spent_human"] = Amounts.Human(a.Spent, a.Decimals), ["limit_human"] = a.Limit is null ? null : Amounts.Human(a.Limit, a.Decimals),
        }),
        ["payments_paused"] = data.Controls?.PaymentsPaused ?? false,
        ["calls_stopped"] = data.Controls?.CallsStopped ?? false,
        ["controls_known"] = data.Controls is not null,
        ["now"] = data.Now,
    };
}
