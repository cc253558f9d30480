using System.Net;
using System.Numerics;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Http;

/// <summary>
/// An <see cref="HttpClient"/> handler that pays x402 (HTTP 402) challenges — the .NET counterpart of <c>@x402/fetch</c>. On a 402 it
/// reads the V2 <c>PAYMENT-REQUIRED</c> header (or a V1 JSON body), picks the cheapest option the <see cref="PaymentPolicy"/> accepts,
/// checks the per-asset total ceiling, signs an <c>exact</c> EVM payment with the <see cref="IPaymentSigner"/> and resends the request
/// once with <c>PAYMENT-SIGNATURE</c> (V1: <c>X-PAYMENT</c>). When the 402 offers sign-in-with-x and this wallet has paid for the
/// resource before (see <see cref="IPaidAccessStore"/>), or the route asks for sign-in only, it resends with a <c>SIGN-IN-WITH-X</c>
/// proof instead; if the server refuses that proof, it pays from the fresh 402. A request is never paid twice by this handler, and
/// a request that already carries a payment or proof header passes through untouched. What happened is on the response:
/// <see cref="X402HttpResponseExtensions.GetX402Outcome"/>. Thread-safe: one instance may serve concurrent requests.
/// </summary>
public sealed class X402PaymentHandler : DelegatingHandler
{
    /// <summary>The request option under which the outcome is recorded.</summary>
    public static readonly HttpRequestOptionsKey<X402PaymentOutcome> OutcomeKey = new("X402Orleans.Payments.Outcome");

    /// <summary>Largest V1 402 body read.</summary>
    public const int MaxChallengeBodyBytes = 64 * 1024;

    // A request carrying one of these was paid or signed by someone else: it passes through untouched.
    private static readonly string[] CallerProofHeaders = [X402Headers.PaymentSignature, X402Headers.XPayment, X402Headers.SignInWithX];

    private readonly IPaymentSigner _signer;
    private readonly X402PaymentOptions _options;
    private readonly IPaidAccessStore _store;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BigInteger> _spent = new(StringComparer.Ordinal);

    /// <summary>Creates a handler without an inner handler (for <c>IHttpClientFactory</c>, which sets it).</summary>
    public X402PaymentHandler(IPaymentSigner signer, X402PaymentOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(signer);
        _signer = signer;
        _options = options ?? new X402PaymentOptions();
        ArgumentNullException.ThrowIfNull(_options.Policy);
        ArgumentNullException.ThrowIfNull(_options.TimeProvider);
        _store = _options.AccessStore ?? new InMemoryPaidAccessStore();
        foreach (var asset in _options.Policy.Assets)
        {
            if (_options.MaxTotal is { } total && !AtomicAmount.TryParseDecimal(total, asset.Decimals, out _, out var error))
            {
                throw new ArgumentException($"MaxTotal is not a valid amount of {asset.Symbol}: {error}", nameof(options));
            }
        }
    }

    /// <summary>Creates a handler in front of <paramref name="innerHandler"/>, e.g. <c>new HttpClient(new X402PaymentHandler(signer, options, new SocketsHttpHandler()))</c>.</summary>
    public X402PaymentHandler(IPaymentSigner signer, X402PaymentOptions? options, HttpMessageHandler innerHandler)
        : this(signer, options)
    {
        ArgumentNullException.ThrowIfNull(innerHandler);
        InnerHandler = innerHandler;
    }

    /// <summary>What this handler has signed so far in <paramref name="asset"/> on <paramref name="network"/>, in atomic units.</summary>
    public BigInteger GetSpent(string network, string asset)
    {
        lock (_gate)
        {
            return _spent.GetValueOrDefault(SpendKey(network, asset));
        }
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (CallerProofHeaders.Any(request.Headers.Contains))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var replayable = await TryBufferAsync(request, cancellationToken).ConfigureAwait(false);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.PaymentRequired)
        {
            request.Options.Set(OutcomeKey, new X402PaymentOutcome(X402Access.Free, null, null, null, null));
            return response;
        }

        try
        {
            var url = request.RequestUri ?? throw new InvalidOperationException("the request has no URI");
            var challenge = await ReadChallengeAsync(response, url, cancellationToken).ConfigureAwait(false);
            if (!replayable)
            {
                throw new X402PaymentException(X402PaymentFailure.BodyNotReplayable, $"{url.GetLeftPart(UriPartial.Path)} asks for payment, but the request body is larger than {_options.MaxBufferedRequestBytes} bytes and was not buffered, so it cannot be resent with a payment; raise MaxBufferedRequestBytes or send a smaller body");
            }

            if (await TrySignInAsync(url, challenge, cancellationToken).ConfigureAwait(false) is { } proof)
            {
                response.Dispose();
                response = await SendWithAsync(request, X402Headers.SignInWithX, proof.HeaderValue, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.PaymentRequired)
                {
                    request.Options.Set(OutcomeKey, new X402PaymentOutcome(X402Access.SignedIn, _signer.Address, null, null, null));
                    return response;
                }

                // The server no longer honours the proof (it forgot the payment, or the route is sign-in only): its fresh 402 decides.
                challenge = await ReadChallengeAsync(response, url, cancellationToken).ConfigureAwait(false);
                if (challenge.Accepts.Count == 0)
                {
                    request.Options.Set(OutcomeKey, new X402PaymentOutcome(X402Access.Rejected, _signer.Address, null, null, challenge.Error));
                    return response;
                }
            }

            return await PayAsync(request, url, challenge, response, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<HttpResponseMessage> PayAsync(HttpRequestMessage request, Uri url, PaymentRequired challenge, HttpResponseMessage challengeResponse, CancellationToken cancellationToken)
    {
        var selection = RequirementSelector.Select(challenge, _options.Policy);
        if (!selection.Succeeded)
        {
            throw new X402PaymentException(X402PaymentFailure.PolicyRefused, $"will not pay {url.GetLeftPart(UriPartial.Path)}: {selection.Reason}");
        }

        var requirement = selection.Requirement!;
        var spendKey = Reserve(requirement, selection.Asset!);
        PaymentPayload payload;
        try
        {
            payload = await ExactEvmScheme.CreatePaymentAsync(challenge, requirement, _signer, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing was signed: the reservation goes back.
            Release(spendKey, requirement.Amount);
            throw;
        }

        challengeResponse.Dispose();
        var paid = await SendWithAsync(request, payload.HeaderName, payload.EncodeHeader(), cancellationToken).ConfigureAwait(false);
        var receiptHeader = payload.X402Version == 1 ? X402Headers.XPaymentResponse : X402Headers.PaymentResponse;
        var settlement = paid.Headers.TryGetValues(receiptHeader, out var values) && SettlementResponse.TryDecodeHeader(values.FirstOrDefault(), out var receipt, out _) ? receipt : null;
        if (paid.StatusCode == HttpStatusCode.PaymentRequired)
        {
            var error = paid.Headers.TryGetValues(X402Headers.PaymentRequired, out var again) && PaymentRequired.TryDecodeHeader(again.FirstOrDefault(), out var refusal, out _) ? refusal!.Error : settlement?.ErrorReason;
            request.Options.Set(OutcomeKey, new X402PaymentOutcome(X402Access.Rejected, _signer.Address, requirement, settlement, error ?? "the server answered 402 to the payment"));
            return paid;
        }

        if (settlement is { Success: true } && SiwxChallenge.TryRead(challenge.Extensions, out _, out _)
            && PaidAccessKey.For(_signer.Address, url, challenge.Resource?.Url ?? requirement.ResourceUrl) is { } key)
        {
            await _store.RecordPaidAsync(key, cancellationToken).ConfigureAwait(false);
        }

        request.Options.Set(OutcomeKey, new X402PaymentOutcome(X402Access.Paid, _signer.Address, requirement, settlement, settlement is { Success: false } ? settlement.ErrorReason : null));
        return paid;
    }

    // A proof when the 402 offers sign-in-with-x and this wallet paid for the resource before, or the route accepts sign-in only.
    private async Task<SiwxProof?> TrySignInAsync(Uri url, PaymentRequired challenge, CancellationToken cancellationToken)
    {
        if (!SiwxChallenge.TryRead(challenge.Extensions, out var siwx, out _))
        {
            return null;
        }

        var signInOnly = challenge.Accepts.Count == 0 && challenge.Unreadable.Count == 0;
        var key = PaidAccessKey.For(_signer.Address, url, challenge.Resource?.Url);
        if (!signInOnly && (key is null || !await _store.HasPaidAsync(key, cancellationToken).ConfigureAwait(false)))
        {
            return null;
        }

        try
        {
            return await SiwxSigner.SignAsync(siwx!, _signer, url, cancellationToken).ConfigureAwait(false);
        }
        catch (X402ProtocolException) when (!signInOnly)
        {
            // A challenge not bound to this origin is never signed; the payment path stays open under the policy.
            return null;
        }
        catch (X402ProtocolException ex)
        {
            throw new X402PaymentException(X402PaymentFailure.MalformedChallenge, $"{url.GetLeftPart(UriPartial.Path)} accepts sign-in only, and its challenge cannot be signed: {ex.Message}", ex);
        }
    }

    private async Task<HttpResponseMessage> SendWithAsync(HttpRequestMessage request, string header, string value, CancellationToken cancellationToken)
    {
        request.Headers.Remove(header);
        request.Headers.TryAddWithoutValidation(header, value);
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // An outer retry must not resend the payment or proof as if the caller had set it.
            request.Headers.Remove(header);
        }
    }

    private static async Task<PaymentRequired> ReadChallengeAsync(HttpResponseMessage response, Uri url, CancellationToken cancellationToken)
    {
        string why;
        if (response.Headers.TryGetValues(X402Headers.PaymentRequired, out var values))
        {
            if (PaymentRequired.TryDecodeHeader(values.FirstOrDefault(), out var v2, out why))
            {
                return v2!;
            }
        }
        else
        {
            var body = await ReadLimitedAsync(response.Content, cancellationToken).ConfigureAwait(false);
            if (body is null)
            {
                why = $"no {X402Headers.PaymentRequired} header and a body over {MaxChallengeBodyBytes} bytes";
            }
            else if (PaymentRequired.TryParseBody(body, out var v1, out why))
            {
                return v1!;
            }
            else
            {
                why = $"no {X402Headers.PaymentRequired} header, and the {why}";
            }
        }

        throw new X402PaymentException(X402PaymentFailure.MalformedChallenge, $"{url.GetLeftPart(UriPartial.Path)} answered 402 without readable payment requirements: {why}");
    }

    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxChallengeBodyBytes)
        {
            return null;
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxChallengeBodyBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    // Makes the body resendable. In-memory contents already are; others are buffered up to the limit.
    private async Task<bool> TryBufferAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = request.Content;
        if (content is null or ByteArrayContent or ReadOnlyMemoryContent)
        {
            return true;
        }

        if (content.Headers.ContentLength > _options.MaxBufferedRequestBytes)
        {
            return false;
        }

        try
        {
            await content.LoadIntoBufferAsync(_options.MaxBufferedRequestBytes, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpRequestException ex)
        {
            // A body of unknown length that outgrew the buffer has been partly read: it cannot be sent at all.
            throw new X402PaymentException(X402PaymentFailure.BodyNotReplayable, $"the request body of unknown length exceeds {_options.MaxBufferedRequestBytes} bytes and cannot be buffered for a possible paid retry; raise MaxBufferedRequestBytes or set Content-Length", ex);
        }
    }

    private string Reserve(PaymentRequirements requirement, AssetInfo asset)
    {
        var key = SpendKey(requirement.Network, requirement.Asset);
        BigInteger? max = null;
        if (_options.MaxTotal is { } total)
        {
            // Validated against every policy asset by the constructor.
            _ = AtomicAmount.TryParseDecimal(total, asset.Decimals, out var parsed, out _);
            max = parsed;
        }

        lock (_gate)
        {
            var spent = _spent.GetValueOrDefault(key);
            if (max is { } ceiling && spent + requirement.Amount > ceiling)
            {
                throw new X402PaymentException(X402PaymentFailure.TotalCapExceeded, $"paying {asset.Describe(requirement.Amount)} would exceed the total ceiling of {AtomicAmount.Format(ceiling, asset.Decimals)} {asset.Symbol} ({asset.Describe(spent)} already signed)");
            }

            _spent[key] = spent + requirement.Amount;
        }

        return key;
    }

    private void Release(string key, BigInteger amount)
    {
        lock (_gate)
        {
            _spent[key] = _spent.GetValueOrDefault(key) - amount;
        }
    }

    private static string SpendKey(string network, string asset) => network + "|" + asset.ToLowerInvariant();
}
