using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>Live sessions of every agent, searched by id, agent or endpoint, a page at a time.</summary>
public sealed class SessionsModel(FleetView fleet) : ConsolePageModel
{
    /// <summary>The search text.</summary>
    [BindProperty(SupportsGet = true, Name = "q")]
    public string? Q { get; set; }

    /// <summary>The page asked for (from 1).</summary>
    [BindProperty(SupportsGet = true, Name = "page")]
    public int PageNumber { get; set; } = 1;

    /// <summary>The page found.</summary>
    public SessionPage Result { get; private set; } = new([], 1, false, true);

    /// <summary>When the page was read.</summary>
    public DateTimeOffset Now { get; private set; }

    /// <summary>Searches.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Now = fleet.Now;
        Result = await fleet.SearchSessionsAsync(Q, PageNumber, cancellationToken);
    }

    /// <summary>The link to another page of the same search.</summary>
    public string PageLink(int page) =>
        $"/console/sessions?q={Uri.EscapeDataString(Q ?? "")}&page={page.ToString(CultureInfo.InvariantCulture)}";
}
