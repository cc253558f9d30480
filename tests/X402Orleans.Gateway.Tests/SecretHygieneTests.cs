using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace X402Orleans.Gateway.Tests;

/// <summary>
/// No private key, API key, payment signature or sign-in proof appears in any log line (at Trace level) or tool output, across paid,
/// reused, refused and failing calls.
/// </summary>
public sealed class SecretHygieneTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private GatewayHost? _host;
    private McpClient? _client;

    public async Task InitializeAsync()
    {
        _host = await GatewayHost.StartAsync(
            new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace", ["Logging:LogLevel:Orleans"] = "Information", ["Logging:LogLevel:Microsoft"] = "Trace" },
            b => b.Logging.AddProvider(_logs));
        _client = await _host.ConnectAsync(GatewayHost.AgentAKey);
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _logs.Dispose();
    }

    [Fact]
    public async Task SecretsAndProofs_NeverAppearInLogsOrToolOutput_AcrossFlows()
    {
        var client = _client!;
        var host = _host!;
        var outputs = new List<string>();
        async Task Call(string tool, Dictionary<string, object?> args)
        {
            var (_, message) = await HostileCorpusTests.TryCallAsync(client, tool, args);
            outputs.Add(message);
        }

        await Call(McpCalls.Start, new() { ["endpoint"] = host.Url("/demo/weather") });
        var started = (await client.StartAsync(host.Url("/demo/quote"))).Ok();
        outputs.Add(started.Text);
        outputs.Add(started.Structured.GetRawText());
        var id = started["session_id"].GetString()!;
        var fetched = (await client.FetchAsync(id)).Ok();
        outputs.Add(fetched.Text);
        outputs.Add(fetched.Structured.GetRawText());
        await Call(McpCalls.Start, new() { ["endpoint"] = host.Url("/demo/weather"), ["max_payment"] = "0.0001" });
        await Call(McpCalls.Start, new() { ["endpoint"] = host.Url("/demo/weather"), ["headers"] = new Dictionary<string, string> { ["PAYMENT-SIGNATURE"] = "eyJzZWNyZXQiOnRydWV9" } });
        await Call(McpCalls.Start, new() { ["endpoint"] = "http://169.254.169.254/latest/meta-data/" });
        await Call("x402_wallet_status", []);
        await Call("x402_payment_log", []);

        var forbidden = new[]
        {
            GatewayHost.WalletKey[2..],
            GatewayHost.AgentAKey,
            GatewayHost.AgentBKey,
            "eyJ", // the start of every base64 JSON header: PAYMENT-SIGNATURE, SIGN-IN-WITH-X, PAYMENT-REQUIRED
        };
        var lines = _logs.Lines.ToList();
        Assert.NotEmpty(lines);
        foreach (var secret in forbidden)
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(outputs, o => o.Contains(secret, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Collects every formatted log line and exception text.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Capturing(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                ArgumentNullException.ThrowIfNull(formatter);
                lines.Enqueue($"{category} {formatter(state, exception)} {exception}");
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    foreach (var (key, value) in values)
                    {
                        lines.Enqueue($"{category} {key}={value}");
                    }
                }
            }
        }
    }
}
