using Microsoft.Data.Sqlite;

namespace X402Orleans.Silo.Storage.Sqlite;

/// <summary>
/// One write waiting in the <see cref="SqliteWriter"/> queue. <see cref="Execute"/> runs on the writer thread inside the
/// batch's transaction; the caller's task completes with its result only after that batch's COMMIT returned, or fails
/// with the batch's error.
/// </summary>
internal abstract class SqliteWrite
{
    private readonly TaskCompletionSource<long?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long? _result;

    /// <summary>The result once the batch is committed: the statement's single value, or null when it matched no row.</summary>
    public Task<long?> Completion => _done.Task;

    /// <summary>Runs the statement(s) on the writer connection; returns the value to report after the commit.</summary>
    public abstract long? Execute(SqliteWriter writer);

    /// <summary>Runs <paramref name="command"/> and answers its first column of the first row, or null when there is no row.</summary>
    protected static long? Single(SqliteCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.ExecuteScalar() switch
        {
            null or DBNull => null,
            long value => value,
            var other => Convert.ToInt64(other, System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    internal void Run(SqliteWriter writer) => _result = Execute(writer);

    internal void Commit() => _done.TrySetResult(_result);

    internal void Fail(Exception error) => _done.TrySetException(error);
}
