using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests.Http;

/// <summary>
/// A 402 server in a message handler, behaving like the official one: a V2 <c>PAYMENT-REQUIRED</c> challenge (or a V1 body), payments
/// verified by EIP-712 recovery and answered with a receipt, and — when the route offers sign-in-with-x — access for a proof signed by
/// a wallet that paid for the path before. It records every request it saw.
/// </summary>
internal sealed class FakeX402Server : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, byte> _paidBy = new(StringComparer.OrdinalIgnoreCase);
    private int _settlements;

    public BigInteger Price { get; init; } = 10_000;

    public bool OffersSignIn { get; init; }

    public bool SignInOnly { get; init; }

    public bool V1 { get; init; }

    /// <summary>Refuse every payment with this reason (a 402 with a fresh challenge).</summary>
    public string? RejectPaymentsWith { get; init; }

    /// <summary>Forget who paid (a server restart): proofs are refused until the wallet pays again.</summary>
    public void ForgetPayments() => _paidBy.Clear();

    /// <summary>Answer 402 with this raw response instead of a challenge.</summary>
    public Func<HttpResponseMessage>? Malformed { get; init; }

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    public int Settlements => Volatile.Read(ref _settlements);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var url = request.RequestUri!;
        Requests.Enqueue(new SeenRequest(
            request.Method, url, body, Header(request, X402Headers.PaymentSignature), Header(request, X402Headers.XPayment), Header(request, X402Headers.SignInWithX)));
        if (Malformed is not null)
        {
            return Malformed();
        }

        if (Header(request, X402Headers.SignInWithX) is { } proof
            && SiwxSigner.TryVerify(proof, url.Authority, url, DateTimeOffset.UtcNow, SiwxSigner.DefaultMaxAge, out var address, out _, out _)
            && (SignInOnly || _paidBy.ContainsKey(address! + url.AbsolutePath)))
        {
            return Ok(request, null);
        }

        var payment = Header(request, V1 ? X402Headers.XPayment : X402Headers.PaymentSignature);
        if (payment is not null && RejectPaymentsWith is null && !SignInOnly && Verify(payment, url, out var payer))
        {
            Interlocked.Increment(ref _settlements);
            _paidBy[payer + url.AbsolutePath] = 0;
            var receipt = new SettlementResponse(true, "0x" + Convert.ToHexStringLower(Encoding.ASCII.GetBytes(payer.PadRight(32, '0')[..32])), "eip155:84532", payer, null);
            var response = Ok(request, null);
            response.Headers.Add(V1 ? X402Headers.XPaymentResponse : X402Headers.PaymentResponse, receipt.EncodeHeader());
            return response;
        }

        return Challenge(request, payment is null ? "Payment required" : RejectPaymentsWith ?? "invalid_payment");
    }

    public static string? Header(HttpRequestMessage request, string name) =>
        request.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private PaymentRequirements Requirement(Uri url) => V1
        ? PaymentRequirements.Parse(JsonNode.Parse($"{{\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"maxAmountRequired\":\"{Price}\",\"resource\":\"{url.AbsoluteUri}\",\"description\":\"\",\"mimeType\":\"application/json\",\"payTo\":\"{TestData.PayTo}\",\"maxTimeoutSeconds\":300,\"asset\":\"{TestData.UsdcSepolia}\",\"extra\":{{\"name\":\"USDC\",\"version\":\"2\"}}}}"), 1, out var v1, out _) ? v1! : throw new InvalidOperationException()
        : PaymentRequirements.Create("exact", "eip155:84532", Price, TestData.UsdcSepolia, TestData.PayTo, 300, new JsonObject { ["name"] = "USDC", ["version"] = "2" });

    private bool Verify(string header, Uri url, out string payer)
    {
        payer = string.Empty;
        if (!X402Json.TryDecodeHeader(header, out var json, out _) || json!["payload"] is not JsonObject inner)
        {
            return false;
        }

        var payment = new PaymentPayload(V1 ? 1 : 2, null, Requirement(url).ToJson(), inner, null);
        if (!ExactEvmScheme.TryVerify(payment, Requirement(url), DateTimeOffset.UtcNow, out var authorization, out _))
        {
            return false;
        }

        payer = authorization!.From;
        return true;
    }

    private HttpResponseMessage Challenge(HttpRequestMessage request, string error)
    {
        var url = request.RequestUri!;
        if (V1)
        {
            var body = new JsonObject { ["x402Version"] = 1, ["error"] = error, ["accepts"] = new JsonArray(Requirement(url).ToJson()) };
            return new HttpResponseMessage(HttpStatusCode.PaymentRequired) { RequestMessage = request, Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        }

        JsonObject? extensions = null;
        if (OffersSignIn || SignInOnly)
        {
            var now = DateTimeOffset.UtcNow;
            var info = new SiwxInfo(url.Authority, url.AbsoluteUri, "1", Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Iso(now), Iso(now.AddMinutes(5)), null, null, [url.AbsoluteUri], null);
            extensions = new JsonObject { [SiwxChallenge.ExtensionKey] = new SiwxChallenge(info, [new SiwxChain("eip155:84532", "eip191")]).ToJson() };
        }

        var challenge = PaymentRequired.Create(error, new ResourceInfo(url.AbsoluteUri, "Weather", "application/json"), SignInOnly ? [] : [Requirement(url)], extensions);
        var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired) { RequestMessage = request, Content = new StringContent("{}") };
        response.Headers.Add(X402Headers.PaymentRequired, challenge.EncodeHeader());
        return response;
    }

    private static HttpResponseMessage Ok(HttpRequestMessage request, string? text) =>
        new(HttpStatusCode.OK) { RequestMessage = request, Content = new StringContent(text ?? "{\"weather\":\"sunny\"}") };

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>One request as the fake server received it.</summary>
internal sealed record SeenRequest(HttpMethod Method, Uri Url, string? Body, string? PaymentSignature, string? XPayment, string? SignInWithX);

/// <summary>A signer that counts what it signs (to prove that refusals sign nothing).</summary>
internal sealed class CountingSigner(IPaymentSigner inner) : IPaymentSigner
{
    private int _typedData;
    private int _messages;

    public string Address => inner.Address;

    public int TypedDataSignatures => Volatile.Read(ref _typedData);

    public int MessageSignatures => Volatile.Read(ref _messages);

    public ValueTask<string> SignTypedDataAsync(string typedDataJson, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _typedData);
        return inner.SignTypedDataAsync(typedDataJson, cancellationToken);
    }

    public ValueTask<string> SignMessageAsync(string message, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _messages);
        return inner.SignMessageAsync(message, cancellationToken);
    }
}
