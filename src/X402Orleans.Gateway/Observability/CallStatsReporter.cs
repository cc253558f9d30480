using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using X402Orleans.Abstractions;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// Every 10 seconds, reports this process's finished call buckets (<see cref="CallStatsRecorder"/>) to the cluster's
/// <see cref="IFleetStatsGrain"/>. Buckets that cannot be reported are kept and sent with the next ones.
/// </summary>
public sealed partial class CallStatsReporter(CallStatsRecorder recorder, IGrainFactory grains, TimeProvider time, ILogger<CallStatsReporter> logger) : BackgroundService
{
    /// <summary>This process's name as a reporter (host name and process id).</summary>
    public string Reporter { get; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    /// <summary>Reports once: takes the finished buckets and sends them (put back when the cluster does not take them).</summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var buckets = recorder.TakeFinished();
        if (buckets.Count == 0)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IFleetStatsGrain>(0).Report(Reporter, buckets).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            recorder.Return(buckets);
            Log.ReportFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CallLatency.BucketWidth, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ReportAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private static partial class Log
    {
        [LoggerMessage(420, LogLevel.Debug, "Call statistics not reported yet ({Error}: {Message}); they are kept for the next report")]
        public static partial void ReportFailed(ILogger logger, string error, string message);
    }
}
