using System.ComponentModel.DataAnnotations;

namespace X402Orleans.Hosting;

/// <summary>Grain state settings under <c>X402:Storage</c> (environment: <c>X402__Storage__*</c>).</summary>
public sealed class X402StorageOptions
{
    /// <summary>Section name.</summary>
    public const string SectionName = "X402:Storage";

    /// <summary>The <see cref="Path"/> value that keeps grain state in memory (throwaway runs).</summary>
    public const string InMemory = ":memory:";

    /// <summary>
    /// Local mode: the SQLite file holding grain state and reminders (created with its folder if missing), or <c>:memory:</c>.
    /// Default: <c>x402orleans/x402.db</c> under the user's local data folder (<c>~/.local/share</c> on Linux).
    /// </summary>
    public string? Path { get; set; }

    /// <summary>
    /// AdoNet mode: apply <c>silo/sql/postgresql/*.sql</c> (re-runnable) at silo start. Default false: the database is
    /// provisioned beforehand (docker-compose applies the same files). Local mode always applies the SQLite schema.
    /// </summary>
    public bool ApplySchema { get; set; }

    /// <summary>
    /// Npgsql <c>Maximum Pool Size</c> used when <c>ConnectionStrings:X402</c> sets none (Npgsql's own default, 100, equals
    /// PostgreSQL's default <c>max_connections</c>). A silo refuses to start when its pool could take all of the server's
    /// connections.
    /// </summary>
    [Range(1, 1000, ErrorMessage = "X402:Storage:MaxPoolSize must be 1..1000")]
    public int MaxPoolSize { get; set; } = 20;

    /// <summary>
    /// Local mode: how durable a committed SQLite write is. <c>Normal</c> (default): WAL with <c>synchronous=NORMAL</c> — a write
    /// the grain was told is stored survives the process being killed (kill -9, crash, OOM) because it is in the OS page cache
    /// of the WAL file; an OS crash or power loss can lose the writes since the last checkpoint. <c>Full</c>: every commit also
    /// fsyncs the WAL (survives power loss), shared by every write in the batch, at the cost of one fsync per batch.
    /// </summary>
    [RegularExpression("^(?i:normal|full)$", ErrorMessage = "X402:Storage:Synchronous must be Normal or Full")]
    public string Synchronous { get; set; } = "Normal";

    /// <summary>Whether every commit fsyncs (<see cref="Synchronous"/> is <c>Full</c>).</summary>
    public bool FsyncEveryCommit => string.Equals(Synchronous, "full", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <see cref="Path"/> asks for in-memory state.</summary>
    public bool IsInMemory => string.Equals(Path?.Trim(), InMemory, StringComparison.Ordinal);

    /// <summary>The SQLite file, with the default applied.</summary>
    public string ResolvedPath => string.IsNullOrWhiteSpace(Path)
        ? System.IO.Path.Combine(DefaultDataFolder(), "x402orleans", "x402.db")
        : System.IO.Path.GetFullPath(Environment.ExpandEnvironmentVariables(Path.Trim()));

    private static string DefaultDataFolder()
    {
        var folder = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(folder) ? System.IO.Path.Combine(AppContext.BaseDirectory, "data") : folder;
    }
}
