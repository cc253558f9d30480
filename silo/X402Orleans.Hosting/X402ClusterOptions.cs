using System.ComponentModel.DataAnnotations;

namespace X402Orleans.Hosting;

/// <summary>Cluster settings under <c>X402:Cluster</c> (environment: <c>X402__Cluster__*</c>).</summary>
public sealed class X402ClusterOptions
{
    /// <summary>Section name.</summary>
    public const string SectionName = "X402:Cluster";

    /// <summary>The one-process mode: localhost clustering, grain state in a SQLite file.</summary>
    public const string LocalMode = "Local";

    /// <summary>The production mode: PostgreSQL clustering, grain state and reminders; any number of silos and gateways.</summary>
    public const string AdoNetMode = "AdoNet";

    /// <summary><c>Local</c> (default) or <c>AdoNet</c>.</summary>
    [RegularExpression("^(Local|AdoNet)$", ErrorMessage = "X402:Cluster:Mode must be Local or AdoNet")]
    public string Mode { get; set; } = LocalMode;

    /// <summary>Silo-to-silo port.</summary>
    [Range(1, 65535, ErrorMessage = "X402:Cluster:SiloPort must be 1..65535")]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port Orleans clients (gateway processes) connect to.</summary>
    [Range(1, 65535, ErrorMessage = "X402:Cluster:GatewayPort must be 1..65535")]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Orleans cluster id: silos and gateways with the same id form one cluster (AdoNet mode).</summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,100}$", ErrorMessage = "X402:Cluster:ClusterId must be 1..100 letters, digits, '.', '_' or '-'")]
    public string ClusterId { get; set; } = "x402";

    /// <summary>Orleans service id: the key of grain state and reminders; keep it stable across deployments.</summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,100}$", ErrorMessage = "X402:Cluster:ServiceId must be 1..100 letters, digits, '.', '_' or '-'")]
    public string ServiceId { get; set; } = "x402orleans";

    /// <summary>Address other silos and gateways use to reach this silo: an IP address or a host name (AdoNet mode).</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "X402:Cluster:AdvertisedHost must be set")]
    public string AdvertisedHost { get; set; } = "127.0.0.1";

    /// <summary>Listen on every interface rather than only the advertised address (containers).</summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>Co-host the MCP gateway in the silo process (default). False: a silo only, with <c>/healthz</c>.</summary>
    public bool HostMcp { get; set; } = true;

    /// <summary>Failure detection: how long a silo waits for a probe's answer, in seconds (Orleans default 5).</summary>
    [Range(0.2, 60, ErrorMessage = "X402:Cluster:ProbeTimeoutSeconds must be 0.2..60")]
    public double ProbeTimeoutSeconds { get; set; } = 2;

    /// <summary>Failure detection: missed probes before a silo suspects another (Orleans default 3).</summary>
    [Range(1, 10, ErrorMessage = "X402:Cluster:MissedProbesLimit must be 1..10")]
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>Failure detection: suspicions needed to declare a silo dead (Orleans default 2; capped at half the live silos).</summary>
    [Range(1, 10, ErrorMessage = "X402:Cluster:VotesForDeathDeclaration must be 1..10")]
    public int VotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How often a silo writes its I-am-alive time to the table, in seconds (Orleans default 30).</summary>
    [Range(1, 300, ErrorMessage = "X402:Cluster:IAmAliveSeconds must be 1..300")]
    public double IAmAliveSeconds { get; set; } = 5;

    /// <summary>How often a gateway process re-reads the list of silos it can connect to, in seconds (Orleans default 60).</summary>
    [Range(1, 600, ErrorMessage = "X402:Cluster:GatewayListRefreshSeconds must be 1..600")]
    public double GatewayListRefreshSeconds { get; set; } = 5;

    /// <summary>
    /// How long a gateway process waits for a grain call's answer, in seconds (Orleans default 30). A session call in flight
    /// when its silo dies does not wait for it: the gateway resends it as soon as it sees the silo go (its connection closes
    /// or the cluster declares it dead); this bounds only calls to a silo that is alive but does not answer.
    /// </summary>
    [Range(1, 300, ErrorMessage = "X402:Cluster:ResponseTimeoutSeconds must be 1..300")]
    public double ResponseTimeoutSeconds { get; set; } = 10;

    /// <summary>How long a gateway process keeps trying to reach the cluster at start, in seconds.</summary>
    [Range(1, 3600, ErrorMessage = "X402:Cluster:ConnectTimeoutSeconds must be 1..3600")]
    public double ConnectTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Silo: the managed memory (GC committed bytes less fragmentation, in MiB) above which Orleans deactivates the longest-idle
    /// grain activations until it is back at <see cref="ActivationMemoryTargetFraction"/> of this, on top of their idle age
    /// (<c>X402:Sessions:IdleCollectionSeconds</c>). 0 turns it off. Default 512: a silo creating sessions as fast as it can stays
    /// under ~1 GB of resident memory (docs/benchmarks.md, "One million sessions"). A deactivated session loses nothing (its
    /// state is stored every turn); its next call reads it back.
    /// </summary>
    [Range(0, 1_048_576, ErrorMessage = ActivationMemoryLimitError)]
    public int ActivationMemoryLimitMB { get; set; } = 512;

    /// <summary>Shedding stops once managed memory is back at this fraction of <see cref="ActivationMemoryLimitMB"/>.</summary>
    public const double ActivationMemoryTargetFraction = 0.8;

    /// <summary>What a bad <see cref="ActivationMemoryLimitMB"/> is told.</summary>
    public const string ActivationMemoryLimitError = "X402:Cluster:ActivationMemoryLimitMB must be 0 (off) or 64..1048576";

    /// <summary>The smallest non-zero <see cref="ActivationMemoryLimitMB"/>: below it a silo would shed its working set.</summary>
    public const int MinActivationMemoryLimitMB = 64;

    /// <summary>Whether this is the AdoNet mode.</summary>
    public bool IsAdoNet => string.Equals(Mode, AdoNetMode, StringComparison.Ordinal);
}
