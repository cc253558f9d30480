using Microsoft.Data.Sqlite;
using Orleans.Storage;
using X402Orleans.Silo.Storage;
using X402Orleans.Silo.Storage.Sqlite;

namespace X402Orleans.Cluster.Tests;

/// <summary>
/// The group-committed SQLite providers of the Local mode (<see cref="SqliteGrainStorage"/>, <see cref="SqliteReminderTable"/>):
/// all-or-nothing batches, the ETag contract, durability across reopening, and row compatibility with Orleans' ADO.NET providers.
/// </summary>
public sealed class SqliteGroupCommitTests : IDisposable
{
    private const string Service = "svc";
    private const long WalLimit = 64 * 1024;
    private readonly SqliteFile _file = new();

    /// <summary>A small state class (JSON, like the grains' states).</summary>
    public sealed class Note
    {
        /// <summary>Some text.</summary>
        public string Text { get; set; } = string.Empty;

        /// <summary>A counter.</summary>
        public int Count { get; set; }
    }

    public void Dispose() => _file.Dispose();

    [Fact]
    public async Task WriteBatch_FailsEveryCaller_WhenOneStatementInTheBatchFails()
    {
        await using var env = await StartAsync();
        using var writer = env.CreateWriter();
        var storage = env.CreateGrainStorage(writer);
        var grains = Enumerable.Range(0, 20).Select(i => Grain(i == 7 ? "poison" : $"g{i}")).ToArray();
        var states = grains.Select(_ => new GrainState<Note> { State = new Note { Text = "before" } }).ToArray();
        await Task.WhenAll(grains.Select((g, i) => storage.WriteStateAsync("note", g, states[i])));
        Assert.All(states, s => Assert.Equal("1", s.ETag));
        await ExecuteAsync("CREATE TRIGGER poison BEFORE UPDATE ON x402_grain_state WHEN NEW.GrainIdExtensionString = 'poison' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");

        // Hold the writer before it takes the queue, so all 20 writes land in one batch; the poisoned one is in the middle.
        using var gate = new ManualResetEventSlim();
        writer.BeforeBatch = gate.Wait;
        var writes = grains.Select((g, i) =>
        {
            states[i].State!.Text = "after";
            return storage.WriteStateAsync("note", g, states[i]);
        }).ToArray();
        gate.Set();
        foreach (var write in writes)
        {
            var error = await Assert.ThrowsAsync<SqliteException>(() => write);
            Assert.Contains("injected failure", error.Message, StringComparison.Ordinal);
        }

        Assert.All(states, s => Assert.Equal("1", s.ETag)); // no caller was told its write was recorded
        for (var i = 0; i < grains.Length; i++)
        {
            var read = new GrainState<Note>();
            await storage.ReadStateAsync("note", grains[i], read);
            Assert.Equal(("before", "1"), (read.State!.Text, read.ETag));
        }

        // The writer recovered: the next batch without the poisoned row commits.
        await ExecuteAsync("DROP TRIGGER poison");
        await storage.WriteStateAsync("note", grains[0], states[0]);
        Assert.Equal("2", states[0].ETag);
    }

    [Fact]
    public async Task ConcurrentWriters_AllPersist_AfterReopening()
    {
        const int grains = 64, writes = 10;
        await using var env = await StartAsync();
        using (var writer = env.CreateWriter())
        {
            var storage = env.CreateGrainStorage(writer);
            await Task.WhenAll(Enumerable.Range(0, grains).Select(async g =>
            {
                var state = new GrainState<Note> { State = new Note { Text = $"grain {g}" } };
                for (var i = 1; i <= writes; i++)
                {
                    state.State!.Count = i;
                    await storage.WriteStateAsync("note", Grain($"c{g}"), state);
                    Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), state.ETag);
                }
            }));
        }

        SqliteConnection.ClearAllPools();
        using var reopened = env.CreateWriter();
        var again = env.CreateGrainStorage(reopened);
        for (var g = 0; g < grains; g++)
        {
            var read = new GrainState<Note>();
            await again.ReadStateAsync("note", Grain($"c{g}"), read);
            Assert.Equal(($"grain {g}", writes, "10", true), (read.State!.Text, read.State!.Count, read.ETag, read.RecordExists));
        }
    }

    [Fact]
    public async Task WalFile_StaysWithinTheJournalSizeLimit_AfterEveryWrite()
    {
        await using var env = await StartAsync();
        using var writer = env.CreateWriter(journalSizeLimitBytes: WalLimit);
        var storage = env.CreateGrainStorage(writer);
        var wal = new FileInfo(_file.Path + "-wal");
        for (var i = 0; i < 100; i++) // ~100 commits of a few pages each (~1 MB): SQLite alone would checkpoint only at 1 000 pages
        {
            await WriteLargeNoteAsync(storage, i);
            wal.Refresh();
            Assert.InRange(wal.Length, 0, 2 * WalLimit); // the writer empties it after answering: at most one batch (~16 KB) above the limit
        }

        Assert.Equal(99, await ReadCountAsync(storage));
    }

    [Fact]
    public async Task WalFile_IsEmptiedByTheNextWrite_WhenAReaderThatHeldTheCheckpointBackIsGone()
    {
        await using var env = await StartAsync();
        using var writer = env.CreateWriter(journalSizeLimitBytes: WalLimit);
        var storage = env.CreateGrainStorage(writer);
        var wal = new FileInfo(_file.Path + "-wal");
        await using (var reader = await _file.OpenAsync())
        {
            await using var snapshot = reader.CreateCommand();
            snapshot.CommandText = "BEGIN; SELECT count(*) FROM x402_grain_state;"; // an open read transaction: no checkpoint can finish
            await snapshot.ExecuteNonQueryAsync();
            for (var i = 0; i < 20; i++)
            {
                await WriteLargeNoteAsync(storage, i);
            }

            wal.Refresh();
            Assert.True(wal.Length > WalLimit, $"the WAL grew to {wal.Length} B");
            snapshot.CommandText = "COMMIT";
            await snapshot.ExecuteNonQueryAsync();
        }

        for (var i = 20; i <= 21; i++) // no checkpoint by anyone else; the second write is queued behind the first one's
        {
            await WriteLargeNoteAsync(storage, i);
        }

        wal.Refresh();
        Assert.InRange(wal.Length, 0, WalLimit);
        Assert.Equal(21, await ReadCountAsync(storage));
    }

    [Fact]
    public async Task Write_ThrowsInconsistentState_WhenTheETagIsStaleOrMissing()
    {
        await using var env = await StartAsync();
        using var writer = env.CreateWriter();
        var storage = env.CreateGrainStorage(writer);
        var grain = Grain("stale");
        var first = new GrainState<Note> { State = new Note { Count = 1 } };
        await storage.WriteStateAsync("note", grain, first);
        var stale = new GrainState<Note> { State = new Note { Count = 9 }, ETag = first.ETag };
        await storage.WriteStateAsync("note", grain, first);
        Assert.Equal("2", first.ETag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("note", grain, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("note", grain, new GrainState<Note> { State = new Note() })); // a second first write
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("note", grain, stale));
        Assert.Equal("1", stale.ETag);
        var read = new GrainState<Note>();
        await storage.ReadStateAsync("note", grain, read);
        Assert.Equal((1, "2"), (read.State!.Count, read.ETag));
    }

    [Fact]
    public async Task Clear_DeletesTheRow_AndTheNextWriteStartsAgain()
    {
        await using var env = await StartAsync();
        using var writer = env.CreateWriter();
        var storage = env.CreateGrainStorage(writer);
        var grain = Grain("clear");
        var state = new GrainState<Note> { State = new Note { Count = 3 } };
        await storage.WriteStateAsync("note", grain, state);
        await storage.ClearStateAsync("note", grain, state);
        Assert.Equal((null, false, 0), (state.ETag, state.RecordExists, state.State!.Count));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM x402_grain_state"));

        var fresh = new GrainState<Note>();
        await storage.ClearStateAsync("note", grain, fresh); // nothing stored: a no-op
        await storage.ReadStateAsync("note", grain, fresh);
        Assert.Equal((null, false), (fresh.ETag, fresh.RecordExists));
        fresh.State!.Count = 4;
        await storage.WriteStateAsync("note", grain, fresh);
        Assert.Equal("1", fresh.ETag);
    }

    [Fact]
    public async Task AdoNetRows_AreReadAndWrittenByTheGroupCommitProvider_AndBack()
    {
        await using var env = await StartAsync();
        var adoNet = await env.StartAdoNetGrainStorageAsync(CancellationToken.None);
        using var writer = env.CreateWriter();
        var sqlite = env.CreateGrainStorage(writer);
        GrainId[] grains =
        [
            Grain("session-string-key"),
            GrainId.Create(GrainType.Create("guid"), GrainIdKeyExtensions.CreateGuidKey(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"))),
            GrainId.Create(GrainType.Create("guid"), GrainIdKeyExtensions.CreateGuidKey(Guid.Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7"), "ext")),
            GrainId.Create(GrainType.Create("int"), GrainIdKeyExtensions.CreateIntegerKey(-42)),
            GrainId.Create(GrainType.Create("int"), GrainIdKeyExtensions.CreateIntegerKey(long.MaxValue, "ext-é")),
        ];
        string[] stateNames = ["session", "X402.Generic`1[[System.String, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]"];
        foreach (var name in stateNames)
        {
            foreach (var grain in grains)
            {
                var old = new GrainState<Note> { State = new Note { Text = "adonet", Count = 1 } };
                await adoNet.WriteStateAsync(name, grain, old);

                var read = new GrainState<Note>();
                await sqlite.ReadStateAsync(name, grain, read);
                Assert.Equal(("adonet", "1", true), (read.State!.Text, read.ETag, read.RecordExists));
                read.State!.Text = "group";
                await sqlite.WriteStateAsync(name, grain, read);
                Assert.Equal("2", read.ETag);

                var back = new GrainState<Note>();
                await adoNet.ReadStateAsync(name, grain, back);
                Assert.Equal(("group", "2", true), (back.State!.Text, back.ETag, back.RecordExists));
                await adoNet.WriteStateAsync(name, grain, back);
                await Assert.ThrowsAsync<InconsistentStateException>(() => sqlite.WriteStateAsync(name, grain, read)); // ETag 2 is stale now
                await sqlite.ClearStateAsync(name, grain, back);
                await adoNet.ReadStateAsync(name, grain, back);
                Assert.Equal((null, false), (back.ETag, back.RecordExists));

                // A first write by the new provider is read by the old one.
                var fresh = new GrainState<Note> { State = new Note { Text = "new", Count = 2 } };
                await sqlite.WriteStateAsync(name, grain, fresh);
                await adoNet.ReadStateAsync(name, grain, back);
                Assert.Equal(("new", "1"), (back.State!.Text, back.ETag));
            }
        }

        Assert.Equal(grains.Length * stateNames.Length, await ScalarAsync("SELECT count(*) FROM x402_grain_state"));
    }

    [Fact]
    public async Task SqliteReminderTable_MeetsTheReminderTableContract()
    {
        await using var env = await StartAsync();
        using var writer = env.CreateWriter();
        IReminderTable table = env.CreateReminderTable(writer);
        await AssertReminderContractAsync(table);
    }

    [Fact]
    public async Task AdoNetReminderTable_MeetsTheSameContract_OnTheSameSchema()
    {
        await using var env = await StartAsync();
        await AssertReminderContractAsync(await env.StartAdoNetReminderTableAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AdoNetReminderRows_AreReadAndWrittenBySqliteReminderTable_AndBack()
    {
        await using var env = await StartAsync();
        var adoNet = await env.StartAdoNetReminderTableAsync(CancellationToken.None);
        using var writer = env.CreateWriter();
        var sqlite = env.CreateReminderTable(writer);
        var grain = Grain("reminded");
        var start = new DateTime(2026, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc);
        Assert.Equal("0", await adoNet.UpsertRow(Entry(grain, "expiry", start, TimeSpan.FromMinutes(1))));

        var row = await sqlite.ReadRow(grain, "expiry");
        Assert.NotNull(row);
        Assert.Equal((grain, start, DateTimeKind.Utc, TimeSpan.FromMinutes(1), "0"), (row.GrainId, row.StartAt, row.StartAt.Kind, row.Period, row.ETag));
        Assert.Single((await sqlite.ReadRows(grain)).Reminders);
        Assert.Equal("1", await sqlite.UpsertRow(Entry(grain, "expiry", start.AddHours(1), TimeSpan.FromDays(30))));

        var back = await adoNet.ReadRow(grain, "expiry");
        Assert.NotNull(back);
        Assert.Equal((start.AddHours(1), TimeSpan.FromDays(30), "1"), (back.StartAt, back.Period, back.ETag));
        var hash = grain.GetUniformHashCode();
        Assert.Single((await adoNet.ReadRows(hash - 1, hash)).Reminders); // same GrainHash column
        Assert.False(await adoNet.RemoveRow(grain, "expiry", "0"));
        Assert.True(await adoNet.RemoveRow(grain, "expiry", "1"));
        Assert.Null(await sqlite.ReadRow(grain, "expiry"));
    }

    internal static async Task AssertReminderContractAsync(IReminderTable table)
    {
        var grain = Grain("r1");
        var other = Grain("r2");
        var start = new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
        Assert.Equal("0", await table.UpsertRow(Entry(grain, "a", start, TimeSpan.FromSeconds(5))));
        Assert.Equal("1", await table.UpsertRow(Entry(grain, "a", start, TimeSpan.FromSeconds(6))));
        Assert.Equal("0", await table.UpsertRow(Entry(grain, "b", DateTime.SpecifyKind(start, DateTimeKind.Unspecified), TimeSpan.FromDays(60))));
        Assert.Equal("0", await table.UpsertRow(Entry(other, "a", start, TimeSpan.FromSeconds(5))));

        var a = await table.ReadRow(grain, "a");
        Assert.NotNull(a);
        Assert.Equal((grain, "a", start, TimeSpan.FromSeconds(6), "1"), (a.GrainId, a.ReminderName, a.StartAt, a.Period, a.ETag));
        Assert.Equal(TimeSpan.FromDays(60), (await table.ReadRow(grain, "b"))!.Period);
        Assert.Null(await table.ReadRow(grain, "missing"));
        Assert.Equal(["a", "b"], (await table.ReadRows(grain)).Reminders.Select(r => r.ReminderName).Order(StringComparer.Ordinal));

        // Ring ranges (begin, end]: the plain range, the whole ring (begin == end) and a wrap-around range that leaves the grain out.
        var hash = grain.GetUniformHashCode();
        Assert.Equal(2, (await table.ReadRows(hash - 1, hash)).Reminders.Count(r => r.GrainId == grain));
        Assert.Equal(3, (await table.ReadRows(hash, hash)).Reminders.Count);
        Assert.DoesNotContain((await table.ReadRows(hash, hash - 1)).Reminders, r => r.GrainId == grain);

        Assert.False(await table.RemoveRow(grain, "a", "0")); // stale etag
        Assert.True(await table.RemoveRow(grain, "a", "1"));
        Assert.False(await table.RemoveRow(grain, "a", "1")); // already gone
        Assert.Equal(["b"], (await table.ReadRows(grain)).Reminders.Select(r => r.ReminderName));
        await table.TestOnlyClearTable();
        Assert.Empty((await table.ReadRows(0, 0)).Reminders);
    }

    private static ReminderEntry Entry(GrainId grain, string name, DateTime start, TimeSpan period) =>
        new() { GrainId = grain, ReminderName = name, StartAt = start, Period = period };

    private static GrainId Grain(string key) => GrainId.Create("session", key);

    /// <summary>Writes the "wal" grain's 8 KB note with <paramref name="count"/> (a few pages per commit).</summary>
    private static Task WriteLargeNoteAsync(SqliteGrainStorage storage, int count) =>
        storage.WriteStateAsync("note", Grain("wal"), new GrainState<Note> { State = new Note { Text = new string('x', 8 * 1024), Count = count }, ETag = count == 0 ? null : count.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    private static async Task<int> ReadCountAsync(SqliteGrainStorage storage)
    {
        var read = new GrainState<Note>();
        await storage.ReadStateAsync("note", Grain("wal"), read);
        return read.State!.Count;
    }

    private async Task<StandaloneStorage> StartAsync()
    {
        await SchemaScripts.ApplySqliteAsync(_file.ConnectionString, CancellationToken.None);
        return StandaloneStorage.For(_file.Path, Service);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await _file.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await _file.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
