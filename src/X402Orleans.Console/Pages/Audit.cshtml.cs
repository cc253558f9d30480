using X402Orleans.Abstractions;

namespace X402Orleans.OperatorConsole.Pages;

/// <summary>The newest operator actions (who, what, when), newest first.</summary>
public sealed class AuditModel(Data.FleetView fleet) : ConsolePageModel
{
    /// <summary>The actions (null: not available).</summary>
    public IReadOnlyList<OperatorAction>? Actions { get; private set; }

    /// <summary>Reads the trail.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken) => Actions = await fleet.AuditAsync(cancellationToken);
}
