using Microsoft.Extensions.Logging;

namespace X402Orleans.Silo.Storage;

/// <summary>
/// Last line: a database exception escaping any grain call (a reminder registration, a read the storage wrapper did not see)
/// leaves the silo as a serializable <see cref="Abstractions.StorageUnavailableException"/>, never as the driver's own type.
/// </summary>
internal sealed partial class StorageExceptionFilter(ILogger<StorageExceptionFilter> logger) : IIncomingGrainCallFilter
{
    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (StorageFailures.Find(ex) is { } db)
        {
            Log.Wrapped(logger, ex, context.InterfaceName, context.MethodName);
            throw StorageFailures.Describe(db);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(501, LogLevel.Warning, "Database failure in {Interface}.{Method}; answered as StorageUnavailableException")]
        public static partial void Wrapped(ILogger logger, Exception exception, string @interface, string method);
    }
}
