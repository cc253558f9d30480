using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace X402Orleans.Silo.Storage.Sqlite;

/// <summary>
/// Grain state in the SQLite table <c>x402_grain_state</c> through the group-committed <see cref="SqliteWriter"/>: the same
/// rows, identity columns and versions as Orleans 10.4.2's <c>AdoNetGrainStorage</c> (see <see cref="GrainStateKey"/>), so a
/// file written by either provider is read by the other. ETag = the row's Version; the first write (no ETag) inserts version 1,
/// every later write needs the current version and increments it; a stale or missing ETag throws
/// <see cref="InconsistentStateException"/>. Clearing deletes the row (the ADO.NET provider's <c>DeleteStateOnClear</c>).
/// A write or clear completes only after its batch was committed (see <see cref="SqliteWriter"/> for the durability levels).
/// </summary>
public sealed class SqliteGrainStorage : IGrainStorage
{
    private const string Identity =
        "GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId AND GrainIdN0 = @GrainIdN0 " +
        "AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString AND GrainIdExtensionString IS @GrainIdExtensionString";

    private const string Now = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

    private const string ReadSql = "SELECT PayloadBinary, Version FROM x402_grain_state WHERE " + Identity;

    private const string UpdateSql =
        "UPDATE x402_grain_state SET PayloadBinary = @PayloadBinary, Version = Version + 1, ModifiedOn = " + Now +
        " WHERE " + Identity + " AND Version = @GrainStateVersion RETURNING Version";

    private const string InsertSql =
        "INSERT INTO x402_grain_state (ServiceId, GrainTypeHash, GrainTypeString, GrainIdHash, GrainIdN0, GrainIdN1, GrainIdExtensionString, PayloadBinary, Version, ModifiedOn) " +
        "VALUES (@ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1, " + Now + ") " +
        "ON CONFLICT DO NOTHING RETURNING Version";

    private const string DeleteSql = "DELETE FROM x402_grain_state WHERE " + Identity + " AND Version = @GrainStateVersion RETURNING Version + 1";

    /// <summary>Identity parameters first (bound by <see cref="BindIdentity"/>), then the version, then the payload.</summary>
    private static readonly string[] Parameters =
    [
        "@ServiceId", "@GrainTypeHash", "@GrainTypeString", "@GrainIdHash", "@GrainIdN0", "@GrainIdN1", "@GrainIdExtensionString", "@GrainStateVersion", "@PayloadBinary",
    ];

    private readonly SqliteWriter _writer;
    private readonly string _serviceId;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activators;

    /// <summary>Grain state of service <paramref name="serviceId"/> in the writer's file, stored with <paramref name="serializer"/>.</summary>
    public SqliteGrainStorage(SqliteWriter writer, string serviceId, IGrainStorageSerializer serializer, IActivatorProvider activators)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(activators);
        _writer = writer;
        _serviceId = serviceId;
        _serializer = serializer;
        _activators = activators;
    }

    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = GrainStateKey.From(_serviceId, stateName, grainId);
        using var connection = _writer.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = ReadSql;
        foreach (var name in Parameters.AsSpan(0, 7))
        {
            command.Parameters.Add(new SqliteParameter(name, null));
        }

        BindIdentity(command, key);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            grainState.State = _activators.GetActivator<T>().Create();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        var payload = reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0);
        var state = payload is null ? default : _serializer.Deserialize<T>(new BinaryData(payload));
        grainState.State = state ?? _activators.GetActivator<T>().Create();
        grainState.ETag = reader.GetInt64(1).ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = payload is not null;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = GrainStateKey.From(_serviceId, stateName, grainId);
        var payload = Bytes(_serializer.Serialize(grainState.State));
        var version = await _writer.Enqueue(new StateWrite(key, ParseETag(grainState.ETag), payload));
        grainState.ETag = version is { } v ? v.ToString(CultureInfo.InvariantCulture) : throw Conflict("WriteState", key, grainState.ETag);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (!grainState.RecordExists && string.IsNullOrWhiteSpace(grainState.ETag))
        {
            await ReadStateAsync(stateName, grainId, grainState);
            if (!grainState.RecordExists)
            {
                return;
            }
        }

        var key = GrainStateKey.From(_serviceId, stateName, grainId);
        var version = await _writer.Enqueue(new StateDelete(key, ParseETag(grainState.ETag)));
        if (version is null)
        {
            throw Conflict("ClearState", key, grainState.ETag);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = _activators.GetActivator<T>().Create();
    }

    private static int? ParseETag(string? etag) =>
        string.IsNullOrWhiteSpace(etag) ? null : int.Parse(etag, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private InconsistentStateException Conflict(string operation, GrainStateKey key, string? etag) =>
        new($"Version conflict ({operation}): ServiceId={_serviceId} GrainType={key.GrainTypeString} GrainId={key} ETag={etag}.");

    /// <summary>The serialized bytes without a copy when they fill one whole array.</summary>
    private static byte[] Bytes(BinaryData data)
    {
        var memory = data.ToMemory();
        return MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();
    }

    private static void BindIdentity(SqliteCommand command, in GrainStateKey key)
    {
        var p = command.Parameters;
        p[0].Value = key.ServiceId;
        p[1].Value = key.GrainTypeHash;
        p[2].Value = key.GrainTypeString;
        p[3].Value = key.GrainIdHash;
        p[4].Value = key.N0;
        p[5].Value = key.N1;
        p[6].Value = (object?)key.Extension ?? DBNull.Value;
    }

    private static object Nullable(int? value) => value is { } v ? v : DBNull.Value;

    private sealed class StateWrite(GrainStateKey key, int? version, byte[] payload) : SqliteWrite
    {
        public override long? Execute(SqliteWriter writer)
        {
            var command = writer.Statement(version is null ? InsertSql : UpdateSql, Parameters);
            BindIdentity(command, key);
            command.Parameters[7].Value = Nullable(version);
            command.Parameters[8].Value = payload;
            return Single(command);
        }
    }

    private sealed class StateDelete(GrainStateKey key, int? version) : SqliteWrite
    {
        public override long? Execute(SqliteWriter writer)
        {
            var command = writer.Statement(DeleteSql, Parameters.AsSpan(0, 8));
            BindIdentity(command, key);
            command.Parameters[7].Value = Nullable(version);
            return Single(command);
        }
    }
}
