using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace X402Orleans.Silo.Storage;

/// <summary>
/// Wraps the ADO.NET grain storage so a database failure reaches the grain (and, through it, any caller, including an
/// activation's first read) as a serializable <see cref="Abstractions.StorageUnavailableException"/>.
/// </summary>
internal sealed partial class GuardedGrainStorage(IGrainStorage inner, ILogger<GuardedGrainStorage> logger) : IGrainStorage
{
    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        GuardAsync(() => inner.ReadStateAsync(stateName, grainId, grainState), "read", grainId);

    /// <inheritdoc />
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        GuardAsync(() => inner.WriteStateAsync(stateName, grainId, grainState), "write", grainId);

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        GuardAsync(() => inner.ClearStateAsync(stateName, grainId, grainState), "clear", grainId);

    private async Task GuardAsync(Func<Task> operation, string what, GrainId grainId)
    {
        try
        {
            await operation();
        }
        catch (Exception ex) when (StorageFailures.Find(ex) is { } db)
        {
            Log.Failed(logger, ex, what, grainId.ToString());
            throw StorageFailures.Describe(db);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(500, LogLevel.Warning, "Grain state {Operation} failed for {GrainId}")]
        public static partial void Failed(ILogger logger, Exception exception, string operation, string grainId);
    }
}
