using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace X402Orleans.Console.Tests;

/// <summary>One host with the console on (operator key set, a generous sign-in limit), shared by a test class; its log is kept.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    private GatewayHost? _host;

    public GatewayHost Host => _host ?? throw new InvalidOperationException("The host is not started.");

    /// <summary>Every entry the host logged (at the levels its settings let through).</summary>
    public LogCapture Logs { get; } = new();

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(ConsoleClient.AdminSettings(), b => b.Logging.AddProvider(Logs));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

/// <summary>One logged entry.</summary>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message);

/// <summary>A logger provider keeping every entry.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception)));
        }
    }
}
