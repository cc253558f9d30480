using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using X402Orleans.Abstractions;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Gateway.Observability;
using X402Orleans.Payments.Scope;

namespace X402Orleans.Gateway.Http;

/// <summary>A request an agent asked the gateway to make.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Url">Target URL (already checked against the session's scope).</param>
/// <param name="Headers">Caller's headers (reserved ones already refused).</param>
/// <param name="Body">Request body, if any.</param>
/// <param name="Timeout">Overall timeout of the exchange.</param>
public sealed record UpstreamRequest(HttpMethod Method, Uri Url, IReadOnlyDictionary<string, string> Headers, string? Body, TimeSpan Timeout);

/// <summary>What came back, with the body read up to the configured cap.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Url">URL that answered (after in-scope redirects).</param>
/// <param name="Headers">Response and content headers, lower-case names, looked up case-insensitively.</param>
/// <param name="Body">Body bytes read (at most the cap).</param>
/// <param name="Truncated">Whether the body was longer than the cap.</param>
public sealed record UpstreamResponse(int Status, Uri Url, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool Truncated)
{
    /// <summary>A header value, or null.</summary>
    public string? Header(string name) => Headers.GetValueOrDefault(name);

    /// <summary>The media type, e.g. application/json.</summary>
    public string? ContentType => Header("content-type");

    /// <summary>Whether the body is text that an agent can read.</summary>
    public bool IsText => ContentType is null
        || ContentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
        || ContentType.Contains("json", StringComparison.OrdinalIgnoreCase)
        || ContentType.Contains("xml", StringComparison.OrdinalIgnoreCase)
        || ContentType.Contains("javascript", StringComparison.OrdinalIgnoreCase)
        || ContentType.Contains("x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The body as text (UTF-8; lossy for invalid bytes) or base64 for binary types.</summary>
    public string BodyText => IsText ? Encoding.UTF8.GetString(Body) : Convert.ToBase64String(Body);
}

/// <summary>An upstream exchange failed before a response arrived; the message is safe to show an agent.</summary>
public sealed class UpstreamException(string message) : Exception(message)
{
    /// <summary>Creates the exception.</summary>
    public UpstreamException()
        : this("upstream request failed")
    {
    }

    /// <summary>Creates the exception.</summary>
    public UpstreamException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}

/// <summary>
/// The gateway's outbound HTTP: no cookies, no automatic redirects (in-scope redirects are followed here, bounded), connections
/// only to addresses <see cref="OutboundPolicy"/> allows, response bodies read while streaming up to a cap, timeouts enforced.
/// </summary>
public sealed class UpstreamHttp : IDisposable
{
    private readonly HttpClient _client;
    private readonly IOptions<X402Options> _options;

    /// <summary>
    /// Creates the client. With tracing off (<see cref="X402Observability.TracingEnabled"/>; no <paramref name="configuration"/> counts
    /// as off) the handler has no activity headers propagator, which takes .NET's diagnostics handler out of the chain: no
    /// <c>traceparent</c> header and no client <c>Activity</c> per upstream call (there is always a current one, the incoming MCP
    /// request's: ASP.NET Core creates it while logging is on). The http.client metrics are unaffected.
    /// </summary>
    public UpstreamHttp(OutboundPolicy policy, IOptions<X402Options> options, IConfiguration? configuration = null)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxConnectionsPerServer = 256,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = (context, ct) => ConnectAsync(policy, context, ct),
        };
        if (configuration is null || !X402Observability.TracingEnabled(configuration))
        {
            handler.ActivityHeadersPropagator = null;
        }

        if (FaultInjection.IsArmedAt(FaultPoints.PaymentSent))
        {
            // Test-only (X402_FAULT_CRASH_AT=payment.sent): crash right after a paid request was written to the socket.
            handler.ConnectCallback = async (context, ct) => new PaidRequestProbeStream(await ConnectAsync(policy, context, ct).ConfigureAwait(false));
        }

        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("X402Orleans", "1.0"));
    }

    /// <summary>
    /// Sends <paramref name="request"/> with <paramref name="protocolHeaders"/> (payment or proof) added, following redirects that stay in
    /// <paramref name="scope"/>. Payment headers are not repeated on a redirect; a sign-in proof is (same origin).
    /// </summary>
    public async Task<UpstreamResponse> SendAsync(UpstreamRequest request, IReadOnlyDictionary<string, string> protocolHeaders, EndpointScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(protocolHeaders);
        ArgumentNullException.ThrowIfNull(scope);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(request.Timeout);
        var http = _options.Value.Http;
        var url = request.Url;
        var method = request.Method;
        var body = request.Body;
        var headers = protocolHeaders;
        using var call = X402Telemetry.BeginUpstream(request.Method, request.Url);
        try
        {
            for (var hop = 0; ; hop++)
            {
                using var message = Build(method, url, request.Headers, headers, body);
                using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
                {
                    if (hop >= http.MaxRedirects)
                    {
                        throw new UpstreamException($"more than {http.MaxRedirects} redirects");
                    }

                    if (!scope.TryResolve(location.OriginalString, out var next))
                    {
                        throw new UpstreamException($"redirect to {Shorten(location.OriginalString)} leaves the session's scope and was not followed");
                    }

                    if (status == 303 || (status is 301 or 302 && method == HttpMethod.Post))
                    {
                        method = HttpMethod.Get;
                        body = null;
                    }

                    url = next!;
                    headers = protocolHeaders.Where(h => !IsPaymentHeader(h.Key)).ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
                    continue;
                }

                var (bytes, truncated) = await ReadCappedAsync(response.Content, http.MaxResponseBytes, timeout.Token).ConfigureAwait(false);
                call.Complete(status);
                return new UpstreamResponse(status, url, CollectHeaders(response), bytes, truncated);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamException($"the request timed out after {(int)request.Timeout.TotalMilliseconds} ms");
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refusal)
        {
            throw new UpstreamException(refusal.Message);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
        {
            throw new UpstreamException($"the response headers from {url.GetLeftPart(UriPartial.Authority)} are larger than the gateway accepts");
        }
        catch (HttpRequestException ex)
        {
            throw new UpstreamException($"could not reach {url.GetLeftPart(UriPartial.Authority)} ({ex.HttpRequestError})");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private static HttpRequestMessage Build(HttpMethod method, Uri url, IReadOnlyDictionary<string, string> callerHeaders, IReadOnlyDictionary<string, string> protocolHeaders, string? body)
    {
        var message = new HttpRequestMessage(method, url);
        if (body is not null && method != HttpMethod.Get && method != HttpMethod.Head)
        {
            message.Content = new StringContent(body, Encoding.UTF8);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        foreach (var (name, value) in callerHeaders)
        {
            if (message.Content is not null && name.StartsWith("content-", StringComparison.OrdinalIgnoreCase))
            {
                message.Content.Headers.Remove(name);
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }

        foreach (var (name, value) in protocolHeaders)
        {
            message.Headers.Remove(name);
            message.Headers.TryAddWithoutValidation(name, value);
        }

        return message;
    }

    private static async Task<(byte[] Bytes, bool Truncated)> ReadCappedAsync(HttpContent content, int cap, CancellationToken cancellationToken)
    {
        // One pooled buffer, grown while the body grows (most bodies are small), and one exact copy out: no per-call 64 KiB
        // allocation and no MemoryStream.
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var limit = cap + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit, 16 * 1024));
        var length = 0;
        try
        {
            while (length < limit)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            var truncated = length > cap;
            return (buffer.AsSpan(0, truncated ? cap : length).ToArray(), truncated);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Dictionary<string, string> CollectHeaders(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name.ToLowerInvariant()] = string.Join(", ", values);
        }

        return headers;
    }

    private static async ValueTask<Stream> ConnectAsync(OutboundPolicy policy, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        IPAddress[] addresses;
        if (IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new OutboundRefusedException($"could not resolve {endpoint.Host} ({ex.SocketErrorCode})");
            }
        }

        var allowed = addresses.Where(a => policy.IsAllowed(endpoint.Host, endpoint.Port, a)).ToArray();
        if (allowed.Length == 0)
        {
            throw new OutboundRefusedException($"{endpoint.Host} resolves to a loopback, private or link-local address, which is refused (set X402__Http__AllowPrivateTargets=true to allow)");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static OutboundRefusedException? FindRefusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is OutboundRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }

    private static bool IsPaymentHeader(string name) =>
        name.Equals(Payments.Wire.X402Headers.PaymentSignature, StringComparison.OrdinalIgnoreCase) || name.Equals(Payments.Wire.X402Headers.XPayment, StringComparison.OrdinalIgnoreCase);

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>
/// Test-only (installed only when <c>X402_FAULT_CRASH_AT</c> names <see cref="FaultPoints.PaymentSent"/>): passes an HTTP/1.1
/// connection through and calls <see cref="FaultInjection.Hit"/> right after the write that completes a request carrying a payment
/// header (<c>PAYMENT-SIGNATURE</c> or <c>X-PAYMENT</c>), so the server receives the whole paid request and its answer is never read.
/// </summary>
internal sealed class PaidRequestProbeStream(Stream inner) : Stream
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private readonly List<byte> _head = [];
    private long _bodyLeft;
    private bool _paid;

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count)
    {
        inner.Write(buffer, offset, count);
        Observe(buffer.AsSpan(offset, count));
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Observe(buffer.Span);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Follows the requests written (head, then Content-Length bytes of body); crashes when a paid one is complete.</summary>
    private void Observe(ReadOnlySpan<byte> written)
    {
        while (!written.IsEmpty)
        {
            if (_bodyLeft > 0)
            {
                var take = (int)Math.Min(_bodyLeft, written.Length);
                _bodyLeft -= take;
                written = written[take..];
                if (_bodyLeft == 0 && _paid)
                {
                    FaultInjection.Hit(FaultPoints.PaymentSent);
                }

                continue;
            }

            var before = _head.Count;
            _head.AddRange(written);
            var end = CollectionsMarshal.AsSpan(_head).IndexOf(HeaderEnd);
            if (end < 0)
            {
                return;
            }

            var headLength = end + HeaderEnd.Length;
            var head = Encoding.Latin1.GetString(CollectionsMarshal.AsSpan(_head)[..headLength]);
            written = written[(headLength - before)..];
            _head.Clear();
            _paid = head.Contains("\r\npayment-signature:", StringComparison.OrdinalIgnoreCase) || head.Contains("\r\nx-payment:", StringComparison.OrdinalIgnoreCase);
            _bodyLeft = ContentLength(head);
            if (_bodyLeft == 0 && _paid)
            {
                FaultInjection.Hit(FaultPoints.PaymentSent);
            }
        }
    }

    private static long ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(line.AsSpan("content-length:".Length).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return length;
            }
        }

        return 0;
    }
}
