using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using X402Orleans.Abstractions;

namespace X402Orleans.Silo.Storage;

/// <summary>
/// Turns database driver exceptions (Npgsql's <see cref="PostgresException"/>, <see cref="SqliteException"/>, …) into
/// <see cref="StorageUnavailableException"/>: a short description and the error code, no inner exception, no connection string.
/// The driver's exception stays in this silo's log.
/// </summary>
internal static class StorageFailures
{
    /// <summary>The first database exception in <paramref name="exception"/>'s chain (inner and aggregated), or null.</summary>
    public static DbException? Find(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DbException db:
                    return db;
                case AggregateException aggregate:
                    foreach (var inner in aggregate.InnerExceptions)
                    {
                        if (Find(inner) is { } found)
                        {
                            return found;
                        }
                    }

                    return null;
            }
        }

        return null;
    }

    /// <summary>A serializable description of <paramref name="db"/>.</summary>
    public static StorageUnavailableException Describe(DbException db)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db switch
        {
            PostgresException pg => new StorageUnavailableException($"Grain state store failed: PostgreSQL {pg.SqlState}: {FirstLine(pg.MessageText)}")
            {
                Code = pg.SqlState,
                Transient = pg.IsTransient,
            },
            NpgsqlException npgsql => new StorageUnavailableException($"Grain state store failed: PostgreSQL unreachable: {FirstLine(npgsql.Message)}")
            {
                Code = npgsql.SqlState,
                Transient = true,
            },
            SqliteException sqlite => new StorageUnavailableException($"Grain state store failed: SQLite error {sqlite.SqliteErrorCode.ToString(CultureInfo.InvariantCulture)}: {FirstLine(sqlite.Message)}")
            {
                Code = sqlite.SqliteErrorCode.ToString(CultureInfo.InvariantCulture),
                Transient = sqlite.SqliteErrorCode is 5 or 6, // SQLITE_BUSY, SQLITE_LOCKED
            },
            _ => new StorageUnavailableException($"Grain state store failed: {db.GetType().Name}: {FirstLine(db.Message)}")
            {
                Code = db.SqlState,
                Transient = db.IsTransient,
            },
        };
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length <= 300 ? line : line[..300];
    }
}
