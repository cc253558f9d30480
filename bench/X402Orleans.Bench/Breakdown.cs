using System.Diagnostics.Metrics;
using X402Orleans.Abstractions;

namespace X402Orleans.Bench;

/// <summary>Where a gateway fetch's time goes, from the product's own metrics (medians over a window).</summary>
/// <param name="CallMs">p50 of x402.call.duration of fetch: the gateway's work (grain turns + upstream exchange), excluding MCP.</param>
/// <param name="UpstreamMs">p50 of x402.upstream.duration per upstream request.</param>
/// <param name="UpstreamPerCall">Upstream requests per fetch (1 when the cached proof is accepted).</param>
internal sealed record BreakdownResult(double CallMs, double UpstreamMs, double UpstreamPerCall);

/// <summary>Listens to the X402Orleans meter during a scenario.</summary>
internal sealed class Breakdown : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<double> _calls = [];
    private readonly List<double> _upstream = [];

    public Breakdown()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == X402Diagnostics.Name && instrument.Name is "x402.call.duration" or "x402.upstream.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "x402.upstream.duration")
            {
                lock (_listener)
                {
                    _upstream.Add(value * 1000);
                }

                return;
            }

            foreach (var tag in tags)
            {
                if (tag.Key == "x402.operation" && tag.Value as string == "fetch")
                {
                    lock (_listener)
                    {
                        _calls.Add(value * 1000);
                    }
                }
            }
        });
        _listener.Start();
    }

    public void Reset()
    {
        lock (_listener)
        {
            _calls.Clear();
            _upstream.Clear();
        }
    }

    public BreakdownResult Snapshot()
    {
        lock (_listener)
        {
            double[] calls = [.. _calls];
            double[] upstream = [.. _upstream];
            Array.Sort(calls);
            Array.Sort(upstream);
            return new BreakdownResult(
                Math.Round(LoadRunner.Percentile(calls, 50), 3),
                Math.Round(LoadRunner.Percentile(upstream, 50), 3),
                calls.Length == 0 ? double.NaN : Math.Round((double)upstream.Length / calls.Length, 2));
        }
    }

    public void Dispose() => _listener.Dispose();
}
