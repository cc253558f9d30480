using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace X402Orleans.Silo.Storage.Sqlite;

/// <summary>
/// Group commit for one SQLite file: a single writer connection on its own thread takes every write queued by any grain (up
/// to <see cref="MaxBatch"/>), runs them in ONE transaction (<c>BEGIN IMMEDIATE</c> … <c>COMMIT</c>) and only then completes
/// each caller's task, so one fsync is shared by the whole batch. A statement that matches no row (a stale version) only
/// reports null to its own caller; if BEGIN, any statement or COMMIT fails, the transaction is rolled back and every caller
/// in the batch gets that failure (none of them is told its write was recorded).
/// <para>
/// Durability: <c>journal_mode=WAL</c>. With <c>synchronous=NORMAL</c> (the default, <c>X402:Storage:Synchronous=Normal</c>)
/// a committed batch is in the WAL file (OS page cache) before any caller is answered, so a completed write survives the
/// process being killed; an OS crash or power loss may lose the batches since the last checkpoint. With <c>synchronous=FULL</c>
/// (<c>fsyncEveryCommit</c>) the WAL is also fsynced at every COMMIT, one fsync shared by the whole batch, so a completed write
/// survives a power loss too. Reads do not go through the queue: they use their own pooled connections
/// (<see cref="OpenReader"/>), which WAL lets run alongside the writer.
/// </para>
/// </summary>
public sealed partial class SqliteWriter : IDisposable
{
    /// <summary>The default largest number of writes in one transaction.</summary>
    public const int DefaultMaxBatch = 512;

    /// <summary>
    /// The size, in bytes, the WAL file is cut back to when SQLite restarts it after a checkpoint (<c>PRAGMA
    /// journal_size_limit</c>). Without it SQLite never shrinks the file: a burst that outran the checkpoints (readers holding
    /// old snapshots keep a checkpoint from finishing) left its whole size on disk for good. 64 MiB: far above what a
    /// checkpoint every 1 000 pages (~4 MiB) needs, so the steady state never truncates and regrows the file. A WAL above it
    /// is also checkpointed and emptied after the next batch (<see cref="BoundWal"/>).
    /// </summary>
    public const long DefaultJournalSizeLimitBytes = 64L * 1024 * 1024;

    private readonly Queue<SqliteWrite> _queue = new();
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);
    private readonly List<SqliteWrite> _batch;
    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private SqliteConnection? _connection;
    private SqliteCommand? _begin;
    private SqliteCommand? _commit;
    private readonly string _synchronous;
    private readonly long _journalSizeLimitBytes;
    private bool _stopping;

    /// <summary>Starts the writer thread; the connection opens at the first batch (after the schema was applied).</summary>
    public SqliteWriter(
        string connectionString,
        ILogger<SqliteWriter> logger,
        int maxBatch = DefaultMaxBatch,
        bool fsyncEveryCommit = false,
        long journalSizeLimitBytes = DefaultJournalSizeLimitBytes)
    {
        _synchronous = fsyncEveryCommit ? "FULL" : "NORMAL";
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(journalSizeLimitBytes);
        _journalSizeLimitBytes = journalSizeLimitBytes;
        _connectionString = connectionString;
        _logger = logger;
        MaxBatch = maxBatch;
        _batch = new List<SqliteWrite>(maxBatch);
        _thread = new Thread(Run) { IsBackground = true, Name = "x402-sqlite-writer" };
        _thread.Start();
    }

    /// <summary>The largest number of writes committed in one transaction.</summary>
    public int MaxBatch { get; }

    /// <summary>The connection string (readers open their own pooled connections with it).</summary>
    public string ConnectionString => _connectionString;

    /// <summary>Test hook: runs on the writer thread after it woke up and before it takes the queued writes.</summary>
    internal Action? BeforeBatch { get; set; }

    /// <summary>An open reader connection (pooled; not queued behind writes). Dispose it after use.</summary>
    public SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Stops after the queued writes are committed, then closes the writer connection.</summary>
    public void Dispose()
    {
        lock (_queue)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.Pulse(_queue);
        }

        _thread.Join();
    }

    /// <summary>Queues <paramref name="write"/>; its task completes after the batch holding it committed.</summary>
    internal Task<long?> Enqueue(SqliteWrite write)
    {
        lock (_queue)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _queue.Enqueue(write);
            if (_queue.Count == 1)
            {
                Monitor.Pulse(_queue);
            }
        }

        return write.Completion;
    }

    /// <summary>
    /// A prepared command on the writer connection for <paramref name="sql"/>, created once with one parameter per name (in
    /// order); callers set <c>Parameters[i].Value</c>. Only for use inside <see cref="SqliteWrite.Execute"/>.
    /// </summary>
    internal SqliteCommand Statement(string sql, params ReadOnlySpan<string> parameters)
    {
        if (_statements.TryGetValue(sql, out var command))
        {
            return command;
        }

        command = _connection!.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter(name, null));
        }

        _statements.Add(sql, command);
        return command;
    }

    private void Run()
    {
        while (true)
        {
            lock (_queue)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_queue);
                }

                if (_queue.Count == 0)
                {
                    break;
                }
            }

            BeforeBatch?.Invoke();
            lock (_queue)
            {
                while (_batch.Count < MaxBatch && _queue.TryDequeue(out var write))
                {
                    _batch.Add(write);
                }
            }

            RunBatch();
            _batch.Clear();
        }

        CloseConnection();
    }

    private void RunBatch()
    {
        try
        {
            EnsureOpen();
            _begin!.ExecuteNonQuery();
            foreach (var write in _batch)
            {
                write.Run(this);
            }

            _commit!.ExecuteNonQuery();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.BatchFailed(_logger, ex, _batch.Count);
            Rollback();
            foreach (var write in _batch)
            {
                write.Fail(ex);
            }

            return;
        }

        foreach (var write in _batch)
        {
            write.Commit();
        }

        BoundWal();
    }

    /// <summary>
    /// SQLite's automatic checkpoint (every 1 000 pages) is passive: it copies only the pages no reader still needs, and a
    /// WAL is only restarted once no reader uses it. Under a steady stream of overlapping reads (every new activation reads
    /// its state) that moment may not come, and the WAL grew past 40 MB in a 100 000-session run. Once the file is above the
    /// journal size limit, the writer checkpoints in TRUNCATE mode after answering the batch's callers: it waits up to
    /// 50 ms for the readers of the moment (point reads, well under a millisecond) to finish, copies the WAL into the
    /// database and empties the file; if a reader is still there it copies what it can and tries again after the next batch.
    /// </summary>
    private void BoundWal()
    {
        var wal = _connection!.DataSource + "-wal";
        if (!File.Exists(wal) || new FileInfo(wal).Length <= _journalSizeLimitBytes)
        {
            return;
        }

        try
        {
            Statement("PRAGMA busy_timeout = 50; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA busy_timeout = 30000;").ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            // Nothing was lost: the WAL stays as it is and the next batch tries again.
            Log.CheckpointFailed(_logger, ex);
        }
    }

    private void EnsureOpen()
    {
        if (_connection is not null)
        {
            return;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using (var pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {_synchronous}; PRAGMA busy_timeout = 30000; " +
                    $"PRAGMA journal_size_limit = {_journalSizeLimitBytes.ToString(CultureInfo.InvariantCulture)};";
                pragmas.ExecuteNonQuery();
            }

            _connection = connection;
            _begin = Statement("BEGIN IMMEDIATE");
            _commit = Statement("COMMIT");
        }
        catch
        {
            _connection = null;
            connection.Dispose();
            throw;
        }
    }

    private void Rollback()
    {
        if (_connection is null)
        {
            return;
        }

        try
        {
            if (!_connection.AutoCommit())
            {
                Statement("ROLLBACK").ExecuteNonQuery();
            }
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            // The connection is in an unknown state: drop it, the next batch opens a new one.
            Log.RollbackFailed(_logger, ex);
            CloseConnection();
        }
    }

    private void CloseConnection()
    {
        foreach (var command in _statements.Values)
        {
            command.Dispose();
        }

        _statements.Clear();
        _begin = _commit = null;
        _connection?.Dispose();
        _connection = null;
    }

    private static partial class Log
    {
        [LoggerMessage(520, LogLevel.Warning, "SQLite group commit of {Count} writes failed and was rolled back; every write in it failed")]
        public static partial void BatchFailed(ILogger logger, Exception exception, int count);

        [LoggerMessage(522, LogLevel.Warning, "SQLite WAL checkpoint (TRUNCATE) failed; retried after the next batch")]
        public static partial void CheckpointFailed(ILogger logger, Exception exception);

        [LoggerMessage(521, LogLevel.Warning, "SQLite rollback failed; the writer connection is reopened for the next batch")]
        public static partial void RollbackFailed(ILogger logger, Exception exception);
    }
}

/// <summary>Helpers on the raw SQLite handle.</summary>
internal static class SqliteConnectionExtensions
{
    /// <summary>True when no transaction is open on <paramref name="connection"/> (sqlite3_get_autocommit).</summary>
    public static bool AutoCommit(this SqliteConnection connection) =>
        SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0;
}
