using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using X402Orleans.Abstractions;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>One session's detail (any agent's): 404 page for an unknown id, 503 when the cluster does not answer.</summary>
public sealed class SessionModel(FleetView fleet) : ConsolePageModel
{
    /// <summary>The session's detail (null: none shown).</summary>
    public SessionDetail? Detail { get; private set; }

    /// <summary>Whether the cluster did not answer.</summary>
    public bool Unavailable { get; private set; }

    /// <summary>The session's per-payment cap, one line per asset (atomic, decimal and symbol).</summary>
    public IReadOnlyList<string> MaxPayment { get; private set; } = [];

    /// <summary>When the page was read.</summary>
    public DateTimeOffset Now { get; private set; }

    /// <summary>Reads the session.</summary>
    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        Now = fleet.Now;
        if (!Guid.TryParse(id, out var sessionId))
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
            return Page();
        }

        try
        {
            Detail = await fleet.SessionAsync(sessionId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            fleet.ReadFailed($"session {sessionId}", ex);
            Unavailable = true;
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Page();
        }

        if (Detail is null)
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
        }
        else
        {
            MaxPayment = await fleet.MaxPaymentAsync(Detail.Session, cancellationToken);
        }

        return Page();
    }
}
