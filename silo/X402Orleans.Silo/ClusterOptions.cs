using System.ComponentModel.DataAnnotations;

namespace X402Orleans.Silo;

/// <summary>Cluster settings under <c>X402:Cluster</c>.</summary>
public sealed class X402ClusterOptions
{
    /// <summary>Section name.</summary>
    public const string SectionName = "X402:Cluster";

    /// <summary><c>Local</c>: one process, localhost clustering, in-memory storage.</summary>
    [RegularExpression("^(Local)$", ErrorMessage = "X402:Cluster:Mode must be Local")]
    public string Mode { get; set; } = "Local";

    /// <summary>Silo-to-silo port.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans client gateway port.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;
}
