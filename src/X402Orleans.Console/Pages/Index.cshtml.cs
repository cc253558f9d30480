using X402Orleans.OperatorConsole.Data;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>The overview: silos, active sessions, the call chart, today's payments and the fleet controls.</summary>
public sealed class IndexModel(FleetView fleet) : ConsolePageModel
{
    /// <summary>What the page shows.</summary>
    public OverviewData Overview { get; private set; } = null!;

    /// <summary>Reads the overview.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken) => Overview = await fleet.OverviewAsync(cancellationToken);
}
