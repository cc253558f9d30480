using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace X402Orleans.Silo.Storage.Sqlite;

/// <summary>
/// The Orleans reminder table in the SQLite table <c>x402_reminders</c>, written through the group-committed
/// <see cref="SqliteWriter"/>; the same rows as Orleans 10.4.2's ADO.NET reminder provider writes with
/// <c>silo/sql/sqlite/reminders.sql</c>: GrainId = <see cref="GrainId.ToString"/>, GrainHash = the grain's uniform hash as a
/// signed int, StartTime = the UTC start as the driver binds a <see cref="DateTime"/>, Period in milliseconds, Version = the
/// ETag (0 on insert, +1 on every upsert). Reads use their own connections and are not queued behind writes.
/// </summary>
public sealed class SqliteReminderTable : IReminderTable
{
    private const string Columns = "SELECT GrainId, ReminderName, StartTime, Period, Version FROM x402_reminders WHERE ServiceId = @ServiceId";

    private const string UpsertSql =
        "INSERT INTO x402_reminders (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version) " +
        "VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0) " +
        "ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE " +
        "SET StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash, Version = Version + 1 RETURNING Version";

    private const string DeleteSql =
        "DELETE FROM x402_reminders WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version RETURNING 1";

    private const string DeleteAllSql = "DELETE FROM x402_reminders WHERE ServiceId = @ServiceId";

    private readonly SqliteWriter _writer;
    private readonly string _serviceId;

    /// <summary>The reminders of the silo's service (<see cref="ClusterOptions.ServiceId"/>) in the writer's file.</summary>
    public SqliteReminderTable(SqliteWriter writer, IOptions<ClusterOptions> cluster)
        : this(writer, (cluster ?? throw new ArgumentNullException(nameof(cluster))).Value.ServiceId)
    {
    }

    /// <summary>The reminders of service <paramref name="serviceId"/> in the writer's file.</summary>
    public SqliteReminderTable(SqliteWriter writer, string serviceId)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        _writer = writer;
        _serviceId = serviceId;
    }

    /// <inheritdoc />
    public Task<ReminderTableData> ReadRows(GrainId grainId) =>
        Task.FromResult(new ReminderTableData(Read(Columns + " AND GrainId = @GrainId", ("@GrainId", grainId.ToString()))));

    /// <inheritdoc />
    public Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // The ring range (begin, end] on signed hashes, or its wrap-around complement, as the ADO.NET provider chooses.
        var sql = (int)begin < (int)end
            ? Columns + " AND GrainHash > @BeginHash AND GrainHash <= @EndHash"
            : Columns + " AND (GrainHash > @BeginHash OR GrainHash <= @EndHash)";
        return Task.FromResult(new ReminderTableData(Read(sql, ("@BeginHash", (int)begin), ("@EndHash", (int)end))));
    }

    /// <inheritdoc />
    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) =>
        Task.FromResult(Read(Columns + " AND GrainId = @GrainId AND ReminderName = @ReminderName", ("@GrainId", grainId.ToString()), ("@ReminderName", reminderName)).FirstOrDefault());

    /// <inheritdoc />
    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.StartAt.Kind is DateTimeKind.Unspecified)
        {
            entry.StartAt = DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc);
        }

        var version = await _writer.Enqueue(new Upsert(_serviceId, entry.GrainId.ToString(), entry.ReminderName, entry.StartAt,
            (long)entry.Period.TotalMilliseconds, (int)entry.GrainId.GetUniformHashCode()));
        return version?.ToString(CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        var version = int.Parse(eTag, NumberStyles.Integer, CultureInfo.InvariantCulture);
        return await _writer.Enqueue(new Delete(_serviceId, grainId.ToString(), reminderName, version)) is not null;
    }

    /// <inheritdoc />
    public Task TestOnlyClearTable() => _writer.Enqueue(new DeleteAll(_serviceId));

    private List<ReminderEntry> Read(string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        using var connection = _writer.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@ServiceId", _serviceId);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var rows = new List<ReminderEntry>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc),
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetInt64(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return rows;
    }

    private static void Bind(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }

    private sealed class Upsert(string serviceId, string grainId, string name, DateTime start, long periodMs, int hash) : SqliteWrite
    {
        public override long? Execute(SqliteWriter writer)
        {
            var command = writer.Statement(UpsertSql, "@ServiceId", "@GrainId", "@ReminderName", "@StartTime", "@Period", "@GrainHash");
            Bind(command, serviceId, grainId, name, start, periodMs, hash);
            return Single(command);
        }
    }

    private sealed class Delete(string serviceId, string grainId, string name, int version) : SqliteWrite
    {
        public override long? Execute(SqliteWriter writer)
        {
            var command = writer.Statement(DeleteSql, "@ServiceId", "@GrainId", "@ReminderName", "@Version");
            Bind(command, serviceId, grainId, name, version);
            return Single(command);
        }
    }

    private sealed class DeleteAll(string serviceId) : SqliteWrite
    {
        public override long? Execute(SqliteWriter writer)
        {
            var command = writer.Statement(DeleteAllSql, "@ServiceId");
            Bind(command, serviceId);
            command.ExecuteNonQuery();
            return 0;
        }
    }
}
