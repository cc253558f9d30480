using System.Data;
using System.Data.Common;
using Npgsql;
using X402Orleans.Silo.Storage;
using static X402Orleans.Cluster.Tests.OrleansQueries;

namespace X402Orleans.Cluster.Tests;

/// <summary>The project's own schema (silo/sql) on real PostgreSQL and SQLite: applies to an empty database, re-applies without change, and meets the Orleans 10.4.2 provider contract.</summary>
public sealed class SchemaTests
{
    private static readonly string[] ClusteringKeys =
    [
        "InsertMembershipVersionKey", "MembershipReadAllKey", "MembershipReadRowKey", "InsertMembershipKey", "UpdateMembershipKey",
        "UpdateIAmAlivetimeKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
    ];

    private static readonly string[] PersistenceKeys = ["ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey"];

    private static readonly string[] ReminderKeys =
    [
        "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "UpsertReminderRowKey", "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    [SkippableFact]
    public async Task PostgresSchema_AppliesToEmptyDatabase_AndAgainWithoutChange()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: false);
        await SchemaScripts.ApplyPostgresAsync(db.ConnectionString, CancellationToken.None);
        await using var connection = await db.OpenAsync();
        Assert.Equal(ClusteringKeys.Concat(PersistenceKeys).Concat(ReminderKeys).Order(StringComparer.Ordinal), await KeysAsync(connection));

        // Some state in every table, then the whole schema again.
        await WriteGrainStateAsync(connection, null, [1, 2, 3]);
        Assert.Equal(1L, Scalar(await RunAsync(connection, "InsertMembershipVersionKey", P("DeploymentId", DbType.String, "c1"))));
        Assert.Equal(0L, Scalar(await UpsertReminderAsync(connection, "r1", 5)));
        var before = await PostgresSnapshotAsync(connection);

        await SchemaScripts.ApplyPostgresAsync(db.ConnectionString, CancellationToken.None);
        var after = await PostgresSnapshotAsync(connection);
        Assert.Equal(before, after);
        var read = Assert.Single(await ReadGrainStateAsync(connection));
        Assert.Equal(new byte[] { 1, 2, 3 }, (byte[])read["payloadbinary"]!);
        Assert.Equal(1, Convert.ToInt32(read["version"], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task SqliteSchema_AppliesToEmptyFile_AndAgainWithoutChange()
    {
        using var file = new SqliteFile();
        await SchemaScripts.ApplySqliteAsync(file.ConnectionString, CancellationToken.None);
        await using var connection = await file.OpenAsync();
        Assert.Equal(PersistenceKeys.Concat(ReminderKeys).Order(StringComparer.Ordinal), await KeysAsync(connection));
        await WriteGrainStateAsync(connection, null, [4, 5]);
        Assert.Equal(0L, Scalar(await UpsertReminderAsync(connection, "r1", 5)));
        var before = await SqliteSnapshotAsync(connection);
        var version = await DataVersionAsync(connection);

        await SchemaScripts.ApplySqliteAsync(file.ConnectionString, CancellationToken.None);
        Assert.Equal(before, await SqliteSnapshotAsync(connection));
        Assert.Equal(version, await DataVersionAsync(connection)); // no other connection committed a change to the file
        Assert.Equal(new byte[] { 4, 5 }, (byte[])Assert.Single(await ReadGrainStateAsync(connection))["PayloadBinary"]!);
    }

    [SkippableFact]
    public async Task PostgresPersistence_MeetsTheProviderContract()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: true);
        await using var connection = await db.OpenAsync();
        await AssertPersistenceContractAsync(connection);
    }

    [Fact]
    public async Task SqlitePersistence_MeetsTheProviderContract()
    {
        using var file = new SqliteFile();
        await SchemaScripts.ApplySqliteAsync(file.ConnectionString, CancellationToken.None);
        await using var connection = await file.OpenAsync();
        await AssertPersistenceContractAsync(connection);
    }

    [SkippableFact]
    public async Task PostgresReminders_MeetTheProviderContract()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: true);
        await using var connection = await db.OpenAsync();
        await AssertRemindersContractAsync(connection);
    }

    [Fact]
    public async Task SqliteReminders_MeetTheProviderContract()
    {
        using var file = new SqliteFile();
        await SchemaScripts.ApplySqliteAsync(file.ConnectionString, CancellationToken.None);
        await using var connection = await file.OpenAsync();
        await AssertRemindersContractAsync(connection);
    }

    [SkippableFact]
    public async Task PostgresClustering_ComparesAndIncrementsTheVersion_Atomically()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: true);
        await using var connection = await db.OpenAsync();
        var d = P("DeploymentId", DbType.String, "cluster-a");
        Assert.Equal(1L, Scalar(await RunAsync(connection, "InsertMembershipVersionKey", d)));
        Assert.Equal(0L, Scalar(await RunAsync(connection, "InsertMembershipVersionKey", d)));

        var empty = Assert.Single(await RunAsync(connection, "MembershipReadAllKey", d));
        Assert.Equal(0, Convert.ToInt32(empty["version"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Null(empty["starttime"]);

        var start = new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
        Assert.Equal(1L, Scalar(await InsertSiloAsync(connection, 11111, 1, version: 0, start)));
        Assert.Equal(0L, Scalar(await InsertSiloAsync(connection, 11111, 1, version: 1, start)));  // same silo again
        Assert.Equal(0L, Scalar(await InsertSiloAsync(connection, 11112, 1, version: 0, start)));  // stale version
        Assert.Equal(1, await VersionAsync(connection));

        Assert.Equal(1L, Scalar(await UpdateSiloAsync(connection, 11111, 1, status: 3, version: 1, start)));
        Assert.Equal(0L, Scalar(await UpdateSiloAsync(connection, 11111, 1, status: 6, version: 1, start))); // stale version
        Assert.Equal(0L, Scalar(await UpdateSiloAsync(connection, 22222, 1, status: 3, version: 2, start))); // no such row
        Assert.Equal(2, await VersionAsync(connection));

        await RunAsync(connection, "UpdateIAmAlivetimeKey", d, P("Address", DbType.AnsiString, "127.0.0.1"), P("Port", DbType.Int32, 11111), P("Generation", DbType.Int32, 1), P("IAmAliveTime", DbType.DateTime, start.AddMinutes(1)));
        Assert.Equal(2, await VersionAsync(connection));

        var member = Assert.Single(await RunAsync(connection, "MembershipReadRowKey", d, P("Address", DbType.AnsiString, "127.0.0.1"), P("Port", DbType.Int32, 11111), P("Generation", DbType.Int32, 1)));
        Assert.Equal(start, ((DateTime)member["starttime"]!).ToUniversalTime());
        Assert.Equal(DateTimeKind.Utc, ((DateTime)member["iamalivetime"]!).Kind);
        var missing = Assert.Single(await RunAsync(connection, "MembershipReadRowKey", d, P("Address", DbType.AnsiString, "127.0.0.9"), P("Port", DbType.Int32, 1), P("Generation", DbType.Int32, 1)));
        Assert.Null(missing["starttime"]);
        Assert.Equal(2, Convert.ToInt32(missing["version"], System.Globalization.CultureInfo.InvariantCulture));

        var gateway = Assert.Single(await RunAsync(connection, "GatewaysQueryKey", d, P("Status", DbType.Int32, 3)));
        Assert.Equal("127.0.0.1", gateway["address"]);
        Assert.Equal(30000, Convert.ToInt32(gateway["proxyport"], System.Globalization.CultureInfo.InvariantCulture));

        // Declared dead, then cleaned up by the one-row key only while it still matches what was read.
        Assert.Equal(1L, Scalar(await UpdateSiloAsync(connection, 11111, 1, status: 6, version: 2, start)));
        var dead = Assert.Single(await RunAsync(connection, "MembershipReadAllKey", d));
        (string, DbType, object?)[] row =
        [
            d, P("Address", DbType.AnsiString, "127.0.0.1"), P("Port", DbType.Int32, 11111), P("Generation", DbType.Int32, 1),
            P("SuspectTimes", DbType.String, dead["suspecttimes"]), P("StartTime", DbType.DateTime, dead["starttime"]), P("IAmAliveTime", DbType.DateTime, dead["iamalivetime"]),
        ];
        await RunAsync(connection, "CleanupDefunctSiloEntryKey", row);
        Assert.Null(Assert.Single(await RunAsync(connection, "MembershipReadAllKey", d))["starttime"]);

        await RunAsync(connection, "DeleteMembershipTableEntriesKey", d);
        Assert.Empty(await RunAsync(connection, "MembershipReadAllKey", d));
    }

    [SkippableFact]
    public async Task PostgresClustering_ConcurrentInsertsWithOneVersion_ExactlyOneWins()
    {
        await using var db = await PostgresDatabase.CreateAsync(applySchema: true);
        await using (var setup = await db.OpenAsync())
        {
            await RunAsync(setup, "InsertMembershipVersionKey", P("DeploymentId", DbType.String, "cluster-a"));
        }

        var start = DateTime.UtcNow;
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            await using var connection = await db.OpenAsync();
            return Scalar(await InsertSiloAsync(connection, 12000 + i, 1, version: 0, start));
        }));
        Assert.Equal(1, results.Count(r => r == 1));
        await using var check = await db.OpenAsync();
        Assert.Equal(1, await VersionAsync(check));
    }

    private static async Task AssertPersistenceContractAsync(DbConnection connection)
    {
        Assert.Empty(await ReadGrainStateAsync(connection));
        Assert.Equal(1L, await WriteVersionAsync(connection, null, [1]));
        Assert.Null(await WriteVersionAsync(connection, null, [2]));       // a second first write is a conflict, not a second row
        Assert.Equal(2L, await WriteVersionAsync(connection, 1, [3]));
        Assert.Null(await WriteVersionAsync(connection, 1, [4]));          // stale ETag
        var read = Assert.Single(await ReadGrainStateAsync(connection));
        Assert.Equal(new byte[] { 3 }, (byte[])read["PayloadBinary"]!);

        Assert.Equal(3L, Scalar(await GrainCommandAsync(connection, "ClearStorageKey", 2)));
        read = Assert.Single(await ReadGrainStateAsync(connection));
        Assert.Null(read["PayloadBinary"]);
        Assert.Equal(3L, Convert.ToInt64(read["Version"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(4L, await WriteVersionAsync(connection, 3, [5]));    // a cleared row takes a write

        Assert.Null(Scalar(await GrainCommandAsync(connection, "DeleteStorageKey", 3)));
        Assert.Equal(5L, Scalar(await GrainCommandAsync(connection, "DeleteStorageKey", 4)));
        Assert.Empty(await ReadGrainStateAsync(connection));

        // NULL and empty extensions are different identities; a string key lives in the extension.
        Assert.Equal(1L, await WriteVersionAsync(connection, null, [6], extension: null));
        Assert.Equal(1L, await WriteVersionAsync(connection, null, [7], extension: string.Empty));
        Assert.Equal(new byte[] { 6 }, (byte[])Assert.Single(await ReadGrainStateAsync(connection, extension: null))["PayloadBinary"]!);
        Assert.Equal(new byte[] { 7 }, (byte[])Assert.Single(await ReadGrainStateAsync(connection, extension: string.Empty))["PayloadBinary"]!);
    }

    private static async Task AssertRemindersContractAsync(DbConnection connection)
    {
        Assert.Equal(0L, Scalar(await UpsertReminderAsync(connection, "a", hash: -5)));
        Assert.Equal(1L, Scalar(await UpsertReminderAsync(connection, "a", hash: -5)));
        Assert.Equal(0L, Scalar(await UpsertReminderAsync(connection, "b", hash: 7, period: 5_000_000_000L)));
        var row = Assert.Single(await RunAsync(connection, "ReadReminderRowKey", Service, P("GrainId", DbType.AnsiString, "session/1"), P("ReminderName", DbType.String, "a")));
        Assert.Equal(new DateTime(2026, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc), DateTime.SpecifyKind(Convert.ToDateTime(row["StartTime"], System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc));
        Assert.Equal(2, (await RunAsync(connection, "ReadReminderRowsKey", Service, P("GrainId", DbType.AnsiString, "session/1"))).Count);

        // Signed ring ranges: (begin, end] and its wrap-around complement.
        Assert.Equal(["a"], await RangeAsync(connection, "ReadRangeRows1Key", -10, 0));
        Assert.Equal(["b"], await RangeAsync(connection, "ReadRangeRows1Key", -5, 7));
        Assert.Equal(["a", "b"], await RangeAsync(connection, "ReadRangeRows2Key", 3, 3));
        Assert.Equal(["b"], await RangeAsync(connection, "ReadRangeRows2Key", 0, -6));

        Assert.Equal(0L, Scalar(await RunAsync(connection, "DeleteReminderRowKey", Service, P("GrainId", DbType.AnsiString, "session/1"), P("ReminderName", DbType.String, "a"), P("Version", DbType.Int32, 0))));
        Assert.Equal(1L, Scalar(await RunAsync(connection, "DeleteReminderRowKey", Service, P("GrainId", DbType.AnsiString, "session/1"), P("ReminderName", DbType.String, "a"), P("Version", DbType.Int32, 1))));
        Assert.Equal(0L, Scalar(await RunAsync(connection, "DeleteReminderRowKey", Service, P("GrainId", DbType.AnsiString, "session/1"), P("ReminderName", DbType.String, "a"), P("Version", DbType.Int32, 1))));
        await RunAsync(connection, "DeleteReminderRowsKey", Service);
        Assert.Empty(await RunAsync(connection, "ReadReminderRowsKey", Service, P("GrainId", DbType.AnsiString, "session/1")));
    }

    private static (string, DbType, object?) Service => P("ServiceId", DbType.String, "svc");

    private static async Task<List<string>> RangeAsync(DbConnection connection, string key, int begin, int end) =>
        [.. (await RunAsync(connection, key, Service, P("BeginHash", DbType.Int32, begin), P("EndHash", DbType.Int32, end))).Select(r => (string)r["ReminderName"]!).Order(StringComparer.Ordinal)];

    private static Task<List<Dictionary<string, object?>>> UpsertReminderAsync(DbConnection connection, string name, int hash, long period = 60_000) =>
        RunAsync(connection, "UpsertReminderRowKey", Service, P("GrainHash", DbType.Int32, hash), P("GrainId", DbType.AnsiString, "session/1"), P("ReminderName", DbType.String, name),
            P("StartTime", DbType.DateTime, new DateTime(2026, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc)), period <= int.MaxValue ? P("Period", DbType.Int32, (int)period) : P("Period", DbType.Int64, period));

    private static (string, DbType, object?)[] Identity(string? extension) =>
    [
        P("GrainIdHash", DbType.Int32, 42), P("GrainIdN0", DbType.Int64, long.MinValue + 7), P("GrainIdN1", DbType.Int64, long.MaxValue - 7), P("GrainTypeHash", DbType.Int32, -42),
        P("GrainTypeString", DbType.String, "X402Orleans.Grains.SessionGrain,session"), P("GrainIdExtensionString", DbType.String, extension), Service,
    ];

    private static Task<List<Dictionary<string, object?>>> ReadGrainStateAsync(DbConnection connection, string? extension = null) =>
        RunAsync(connection, "ReadFromStorageKey", Identity(extension));

    private static Task<List<Dictionary<string, object?>>> WriteGrainStateAsync(DbConnection connection, int? version, byte[] payload, string? extension = null) =>
        RunAsync(connection, "WriteToStorageKey", [.. Identity(extension), P("GrainStateVersion", DbType.Int32, version), P("PayloadBinary", DbType.Binary, payload)]);

    private static async Task<long?> WriteVersionAsync(DbConnection connection, int? version, byte[] payload, string? extension = null)
    {
        var rows = await WriteGrainStateAsync(connection, version, payload, extension);
        return rows.Count == 0 ? null : Convert.ToInt64(Assert.Single(rows)["NewGrainStateVersion"], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Task<List<Dictionary<string, object?>>> GrainCommandAsync(DbConnection connection, string key, int version) =>
        RunAsync(connection, key, [.. Identity(null), P("GrainStateVersion", DbType.Int32, version)]);

    private static Task<List<Dictionary<string, object?>>> InsertSiloAsync(DbConnection connection, int port, int generation, int version, DateTime start) =>
        RunAsync(connection, "InsertMembershipKey",
            P("DeploymentId", DbType.String, "cluster-a"), P("Address", DbType.AnsiString, "127.0.0.1"), P("Port", DbType.Int32, port), P("Generation", DbType.Int32, generation),
            P("SiloName", DbType.String, "silo"), P("HostName", DbType.String, "host"), P("Status", DbType.Int32, 2), P("ProxyPort", DbType.Int32, 30000),
            P("StartTime", DbType.DateTime, start), P("IAmAliveTime", DbType.DateTime, start), P("Version", DbType.Int32, version));

    private static Task<List<Dictionary<string, object?>>> UpdateSiloAsync(DbConnection connection, int port, int generation, int status, int version, DateTime start) =>
        RunAsync(connection, "UpdateMembershipKey",
            P("DeploymentId", DbType.String, "cluster-a"), P("Address", DbType.AnsiString, "127.0.0.1"), P("Port", DbType.Int32, port), P("Generation", DbType.Int32, generation),
            P("Status", DbType.Int32, status), P("SuspectTimes", DbType.String, status == 6 ? "127.0.0.1:11112@1,2026-01-02 03:04:05.678 GMT" : null),
            P("IAmAliveTime", DbType.DateTime, start), P("Version", DbType.Int32, version));

    private static async Task<int> VersionAsync(DbConnection connection) =>
        Convert.ToInt32(Assert.Single(await RunAsync(connection, "MembershipReadAllKey", P("DeploymentId", DbType.String, "cluster-a")).ContinueWith(t => t.Result.Take(1).ToList()))["version"], System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<List<string>> KeysAsync(DbConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT QueryKey FROM OrleansQuery";
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return [.. keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>Tables, columns, indexes, function definitions, and every row of data with its row version (xmin): a re-apply that rewrote a row would show.</summary>
    private static async Task<string> PostgresSnapshotAsync(NpgsqlConnection connection)
    {
        const string sql = """
            SELECT string_agg(line, E'\n' ORDER BY line) FROM (
              SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
                FROM information_schema.columns WHERE table_schema = 'public'
              UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
              UNION ALL SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
              UNION ALL SELECT 'query ' || querykey || ' ' || xmin::text || ' ' || md5(querytext) FROM orleansquery
              UNION ALL SELECT 'state ' || xmin::text || ' ' || version || ' ' || md5(payloadbinary) FROM x402_grain_state
              UNION ALL SELECT 'cluster ' || xmin::text || ' ' || deploymentid || ' ' || version FROM x402_membership_version
              UNION ALL SELECT 'reminder ' || xmin::text || ' ' || remindername || ' ' || version FROM x402_reminders
            ) s
            """;
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> DataVersionAsync(DbConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA data_version";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> SqliteSnapshotAsync(DbConnection connection)
    {
        var lines = new List<string>();
        foreach (var sql in new[]
        {
            "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master",
            "SELECT 'query ' || QueryKey || ' ' || QueryText FROM OrleansQuery",
            "SELECT 'state ' || Version || ' ' || hex(PayloadBinary) || ' ' || ModifiedOn FROM x402_grain_state",
            "SELECT 'reminder ' || ReminderName || ' ' || Version FROM x402_reminders",
        })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lines.Add(reader.GetString(0));
            }
        }

        return string.Join('\n', lines.Order(StringComparer.Ordinal));
    }
}
