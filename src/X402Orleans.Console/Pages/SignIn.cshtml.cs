using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using X402Orleans.OperatorConsole.Auth;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>GET shows the sign-in form; POST checks the operator key (rate-limited per client address) and sets the console cookie.</summary>
[AllowAnonymous]
public sealed class SignInModel(OperatorKeys keys, SignInThrottle throttle, FleetView fleet) : PageModel
{
    /// <summary>Why the last attempt was refused.</summary>
    public string? Error { get; private set; }

    /// <summary>The form.</summary>
    public void OnGet()
    {
    }

    /// <summary>An attempt: 429 when this address has used its attempts this minute, 401 for a key that is no operator's, else 302 to /console.</summary>
    public async Task<IActionResult> OnPostAsync([FromForm(Name = "key")] string? key)
    {
        if (!throttle.TryAttempt(HttpContext))
        {
            Error = "Too many sign-in attempts from this address: wait a minute and try again.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = "60";
            return Page();
        }

        if (keys.Find(key) is not { } operatorName)
        {
            Error = "That key was not accepted.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, operatorName)], ConsoleHosting.PolicyName);
        await HttpContext.SignInAsync(ConsoleHosting.PolicyName, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
        await fleet.RecordAsync(operatorName, "sign-in", "console", HttpContext.Connection.RemoteIpAddress?.ToString());
        return Redirect(ConsoleHosting.BasePath);
    }
}
