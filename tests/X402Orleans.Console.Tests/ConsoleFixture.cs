namespace X402Orleans.Console.Tests;

/// <summary>One host with the console on (operator key set, a generous sign-in limit), shared by a test class.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    private GatewayHost? _host;

    public GatewayHost Host => _host ?? throw new InvalidOperationException("The host is not started.");

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(ConsoleClient.AdminSettings());

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
