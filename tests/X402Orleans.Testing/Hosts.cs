using Microsoft.Extensions.Hosting;

namespace X402Orleans.Testing;

/// <summary>Shutting down in-process hosts.</summary>
public static class Hosts
{
    /// <summary>Stops <paramref name="host"/> (within 30 s), then disposes it even when stopping failed.</summary>
    public static async ValueTask StopAndDisposeAsync<THost>(THost host)
        where THost : IHost, IAsyncDisposable
    {
        ArgumentNullException.ThrowIfNull(host);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await host.StopAsync(limit.Token);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }
}
