namespace X402Orleans.Abstractions;

/// <summary>
/// The grain state store (PostgreSQL or SQLite) failed. Silos raise this instead of the database driver's own exception, which
/// is not meant to cross a grain boundary: it carries only a short, serializable description (never a connection string).
/// An <see cref="OrleansException"/>, so callers treat it like any other temporary cluster failure.
/// </summary>
[GenerateSerializer]
[Alias("X402Orleans.Abstractions.StorageUnavailableException")]
public sealed class StorageUnavailableException : OrleansException
{
    /// <summary>Creates the exception.</summary>
    public StorageUnavailableException()
        : this("The grain state store is unavailable.")
    {
    }

    /// <summary>Creates the exception with a description.</summary>
    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a description and a cause (kept in this process only).</summary>
    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The database's error code when it gave one (a PostgreSQL SQLSTATE such as <c>57P01</c>, or a SQLite result code).</summary>
    [Id(0)]
    public string? Code { get; init; }

    /// <summary>Whether retrying later may succeed (connection lost, server shutting down, timeouts, locks).</summary>
    [Id(1)]
    public bool Transient { get; init; }
}
