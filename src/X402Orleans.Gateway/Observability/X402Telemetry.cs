using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Numerics;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Sessions;

namespace X402Orleans.Gateway.Observability;

/// <summary>
/// The gateway's instruments and spans, on the shared <see cref="X402Diagnostics.Meter"/> and
/// <see cref="X402Diagnostics.ActivitySource"/>: session calls (latency by operation and access), payments (count and amount, by
/// network and asset) and upstream requests (latency and status codes). Money stays atomic and exact everywhere else; only the
/// amount histogram here is a floating-point view in the asset's units.
/// </summary>
public static class X402Telemetry
{
    /// <summary><c>x402.call.duration</c> (s): a session tool's work in the gateway (grain turns + upstream exchange), by operation and outcome.</summary>
    public static readonly Histogram<double> CallDuration = X402Diagnostics.Meter.CreateHistogram<double>(
        "x402.call.duration", "s", "Duration of session operations in the gateway", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary><c>x402.payments</c>: payment outcomes (<c>settled</c>, <c>refused</c>, <c>unknown</c>), by network and asset.</summary>
    public static readonly Counter<long> Payments = X402Diagnostics.Meter.CreateCounter<long>("x402.payments", "{payment}", "Payments by outcome");

    /// <summary><c>x402.payment.amount</c>: settled amounts in the asset's units (e.g. 0.001 USDC), by network and asset.</summary>
    public static readonly Histogram<double> PaymentAmount = X402Diagnostics.Meter.CreateHistogram<double>("x402.payment.amount", "{asset_unit}", "Settled payment amounts in the asset's units");

    /// <summary><c>x402.payment.amount_atomic</c>: settled amounts summed exactly in the asset's atomic units (amounts beyond a long are skipped).</summary>
    public static readonly Counter<long> PaymentAmountAtomic = X402Diagnostics.Meter.CreateCounter<long>("x402.payment.amount_atomic", "{atomic_unit}", "Settled payment amounts in atomic units");

    /// <summary><c>x402.upstream.duration</c> (s): outbound requests (redirects included), by method and <c>http.response.status_code</c> or <c>error.type</c>.</summary>
    public static readonly Histogram<double> UpstreamDuration = X402Diagnostics.Meter.CreateHistogram<double>(
        "x402.upstream.duration", "s", "Duration of upstream requests", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary><c>x402.upstream.responses</c>: upstream responses by <c>http.response.status_code</c> (or <c>error.type</c> without one).</summary>
    public static readonly Counter<long> UpstreamResponses = X402Diagnostics.Meter.CreateCounter<long>("x402.upstream.responses", "{response}", "Upstream responses by status code");

    private static double[] LatencyBuckets => [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>Starts timing (and, with a listener, tracing) one session operation; <see cref="CallScope.Complete"/> it on success.</summary>
    public static CallScope BeginCall(string operation, Guid sessionId, CallStatsRecorder? stats = null) => new(operation, sessionId, stats);

    /// <summary>Starts timing (and tracing) one upstream request; <see cref="UpstreamScope.Complete"/> it with the final status.</summary>
    public static UpstreamScope BeginUpstream(HttpMethod method, Uri url) => new(method, url);

    /// <summary>A payment was settled (the receipt's amount is atomic).</summary>
    public static void PaymentSettled(PaymentReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        var tags = PaymentTags("settled", receipt.Network, receipt.Symbol);
        Payments.Add(1, tags);
        if (!BigInteger.TryParse(receipt.AmountAtomic, NumberStyles.None, CultureInfo.InvariantCulture, out var atomic))
        {
            return;
        }

        if (atomic <= long.MaxValue)
        {
            PaymentAmountAtomic.Add((long)atomic, tags);
        }

        PaymentAmount.Record(ToUnits(atomic, receipt.Decimals), tags);
        Activity.Current?.AddEvent(new ActivityEvent("x402.payment.settled", tags: new ActivityTagsCollection { ["x402.amount_atomic"] = receipt.AmountAtomic, ["x402.network"] = receipt.Network }));
    }

    /// <summary>A payment was not settled: <paramref name="outcome"/> is <c>refused</c> or <c>unknown</c> (may have settled).</summary>
    public static void PaymentNotSettled(string outcome, string network, string symbol) => Payments.Add(1, PaymentTags(outcome, network, symbol));

    /// <summary>An atomic amount in the asset's units, for metrics only (exact up to decimal's range).</summary>
    public static double ToUnits(BigInteger atomic, int decimals)
    {
        if (decimals is >= 0 and <= 28 && BigInteger.Abs(atomic) <= new BigInteger(decimal.MaxValue))
        {
            return (double)((decimal)atomic / (decimal)Math.Pow(10, decimals));
        }

        return (double)atomic / Math.Pow(10, decimals);
    }

    private static TagList PaymentTags(string outcome, string network, string symbol) => new()
    {
        { "x402.payment.outcome", outcome },
        { "x402.network", network },
        { "x402.asset", symbol },
    };

    /// <summary>One session operation: a span <c>x402.session.{operation}</c> and a <c>x402.call.duration</c> record on dispose.</summary>
    public sealed class CallScope : IDisposable
    {
        private readonly string _operation;
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly Activity? _activity;
        private readonly CallStatsRecorder? _stats;
        private string? _access;

        internal CallScope(string operation, Guid sessionId, CallStatsRecorder? stats)
        {
            _operation = operation;
            _stats = stats;
            _activity = X402Diagnostics.ActivitySource.StartActivity("x402.session." + operation);
            if (_activity is { IsAllDataRequested: true })
            {
                _activity.SetTag("x402.session.id", sessionId.ToString());
            }
        }

        /// <summary>Marks success, with how the response was obtained (<c>sign-in-with-x</c>, <c>paid</c>, <c>free</c>).</summary>
        public void Complete(string access) => _access = access;

        /// <summary>Marks success with the exchange's <see cref="AccessKind"/>.</summary>
        public void Complete(AccessKind access) => _access = access switch
        {
            AccessKind.SignInWithX => "sign-in-with-x",
            AccessKind.Paid => "paid",
            _ => "free",
        };

        /// <inheritdoc />
        public void Dispose()
        {
            var outcome = _access is null ? "error" : "ok";
            var tags = new TagList { { "x402.operation", _operation }, { "x402.outcome", outcome } };
            if (_access is not null)
            {
                tags.Add("x402.access", _access);
            }

            var elapsed = Stopwatch.GetElapsedTime(_started);
            CallDuration.Record(elapsed.TotalSeconds, tags);
            _stats?.Record(elapsed, failed: _access is null);
            if (_activity is not null)
            {
                _activity.SetTag("x402.outcome", outcome);
                if (_access is not null)
                {
                    _activity.SetTag("x402.access", _access);
                }
                else
                {
                    _activity.SetStatus(ActivityStatusCode.Error);
                }

                _activity.Dispose();
            }
        }
    }

    /// <summary>One upstream request: a client span and <c>x402.upstream.*</c> records on dispose.</summary>
    public sealed class UpstreamScope : IDisposable
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly string _method;
        private readonly Activity? _activity;
        private int _status;

        internal UpstreamScope(HttpMethod method, Uri url)
        {
            _method = method.Method;
            _activity = X402Diagnostics.ActivitySource.StartActivity("x402.upstream " + _method, ActivityKind.Client);
            if (_activity is { IsAllDataRequested: true })
            {
                // No query string: it may carry the upstream API's own secrets.
                _activity.SetTag("http.request.method", _method);
                _activity.SetTag("server.address", url.Host);
                _activity.SetTag("server.port", url.Port);
                _activity.SetTag("url.path", url.AbsolutePath);
            }
        }

        /// <summary>Records the final status code (after redirects).</summary>
        public void Complete(int status) => _status = status;

        /// <inheritdoc />
        public void Dispose()
        {
            var tags = new TagList { { "http.request.method", _method } };
            if (_status > 0)
            {
                tags.Add("http.response.status_code", _status);
            }
            else
            {
                tags.Add("error.type", "no_response");
            }

            UpstreamDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
            UpstreamResponses.Add(1, tags);
            if (_activity is not null)
            {
                if (_status > 0)
                {
                    _activity.SetTag("http.response.status_code", _status);
                }
                else
                {
                    _activity.SetStatus(ActivityStatusCode.Error, "no response");
                }

                _activity.Dispose();
            }
        }
    }
}
