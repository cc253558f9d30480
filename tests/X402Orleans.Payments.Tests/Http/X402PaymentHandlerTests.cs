using System.Net;
using System.Numerics;
using System.Text;
using X402Orleans.Payments.Http;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Signing;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Payments.Tests.Http;

public class X402PaymentHandlerTests
{
    private const string Url = "https://api.example.com/v1/weather";

    private readonly CountingSigner _signer = new(LocalPrivateKeySigner.FromHex(TestData.PrivateKey));

    private static readonly PaymentPolicy Policy = PaymentPolicy.Default.WithMaxPayment("0.05");

    private (HttpClient Client, X402PaymentHandler Handler) Client(FakeX402Server server, X402PaymentOptions? options = null)
    {
        var handler = new X402PaymentHandler(_signer, options ?? new X402PaymentOptions { Policy = Policy }, server);
        return (new HttpClient(handler), handler);
    }

    [Fact]
    public async Task SendAsync_PaysOnceAndExposesSettlement_WhenServerAnswers402()
    {
        var server = new FakeX402Server();
        var (http, handler) = Client(server);

        using var response = await http.GetAsync(new Uri(Url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var outcome = response.GetX402Outcome();
        Assert.Equal(X402Access.Paid, outcome!.Access);
        Assert.True(outcome.Settlement!.Success);
        Assert.Matches("^0x[0-9a-f]{64}$", outcome.Settlement.Transaction);
        Assert.Equal(TestData.Address, outcome.Payer);
        Assert.Equal(server.Price, outcome.Requirement!.Amount);
        Assert.Equal(1, server.Settlements);
        Assert.Equal(1, _signer.TypedDataSignatures);
        Assert.Equal(server.Price, handler.GetSpent("eip155:84532", TestData.UsdcSepolia));
        var seen = server.Requests.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Null(seen[0].PaymentSignature);
        Assert.NotNull(seen[1].PaymentSignature);
        Assert.Null(FakeX402Server.Header(response.RequestMessage!, X402Headers.PaymentSignature));
    }

    [Fact]
    public async Task SendAsync_ResendsStreamedBodyWithPayment_WhenPostIsPaid()
    {
        var server = new FakeX402Server();
        var (http, _) = Client(server);
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"text\":\"hello\"}")));

        using var response = await http.PostAsync(new Uri(Url), content);

        Assert.Equal(X402Access.Paid, response.GetX402Outcome()!.Access);
        Assert.All(server.Requests, r => Assert.Equal("{\"text\":\"hello\"}", r.Body));
    }

    [Fact]
    public async Task SendAsync_ReusesBySignInWithX_WhenResourceWasPaidBefore()
    {
        var server = new FakeX402Server { OffersSignIn = true };
        var (http, handler) = Client(server);

        using var first = await http.GetAsync(new Uri(Url));
        using var second = await http.GetAsync(new Uri(Url));

        Assert.Equal(X402Access.Paid, first.GetX402Outcome()!.Access);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(X402Access.SignedIn, second.GetX402Outcome()!.Access);
        Assert.Null(second.GetX402Outcome()!.Settlement);
        Assert.Equal(1, server.Settlements);
        Assert.Equal(1, _signer.TypedDataSignatures);
        Assert.Equal(1, _signer.MessageSignatures);
        Assert.Equal(server.Price, handler.GetSpent("eip155:84532", TestData.UsdcSepolia));
        var last = server.Requests.Last();
        Assert.NotNull(last.SignInWithX);
        Assert.Null(last.PaymentSignature);
    }

    [Fact]
    public async Task SendAsync_PaysWithoutSigningIn_WhenAnotherPathWasPaid()
    {
        var server = new FakeX402Server { OffersSignIn = true };
        var (http, _) = Client(server);

        using var first = await http.GetAsync(new Uri(Url));
        using var other = await http.GetAsync(new Uri("https://api.example.com/v1/forecast"));

        Assert.Equal(X402Access.Paid, other.GetX402Outcome()!.Access);
        Assert.Equal(2, server.Settlements);
        Assert.Equal(0, _signer.MessageSignatures);
    }

    [Fact]
    public async Task SendAsync_PaysOnceMore_WhenServerRefusesTheProof()
    {
        var server = new FakeX402Server { OffersSignIn = true };
        var (http, _) = Client(server);
        using var first = await http.GetAsync(new Uri(Url));
        server.ForgetPayments();

        using var second = await http.GetAsync(new Uri(Url));

        Assert.Equal(X402Access.Paid, second.GetX402Outcome()!.Access);
        Assert.Equal(2, server.Settlements);
        // unpaid, proof refused, paid: three sends for the second request, never more
        Assert.Equal(5, server.Requests.Count);
    }

    [Fact]
    public async Task SendAsync_SignsInWithoutPaying_WhenRouteIsSignInOnly()
    {
        var server = new FakeX402Server { SignInOnly = true };
        var (http, _) = Client(server);

        using var response = await http.GetAsync(new Uri(Url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(X402Access.SignedIn, response.GetX402Outcome()!.Access);
        Assert.Equal(0, _signer.TypedDataSignatures);
    }

    [Fact]
    public async Task SendAsync_ThrowsAndSignsNothing_WhenPriceExceedsMaxPayment()
    {
        var server = new FakeX402Server { Price = 60_000 };
        var (http, _) = Client(server);

        var error = await Assert.ThrowsAsync<X402PaymentException>(() => http.GetAsync(new Uri(Url)));

        Assert.Equal(X402PaymentFailure.PolicyRefused, error.Failure);
        Assert.Contains("exceeds max_payment 0.05 USDC", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _signer.TypedDataSignatures);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task SendAsync_ThrowsAndSignsNothing_WhenTotalCapWouldBeExceeded()
    {
        var server = new FakeX402Server();
        var (http, handler) = Client(server, new X402PaymentOptions { Policy = Policy, MaxTotal = "0.015" });
        using var first = await http.GetAsync(new Uri(Url));

        var error = await Assert.ThrowsAsync<X402PaymentException>(() => http.GetAsync(new Uri(Url)));

        Assert.Equal(X402PaymentFailure.TotalCapExceeded, error.Failure);
        Assert.Contains("total ceiling of 0.015 USDC", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _signer.TypedDataSignatures);
        Assert.Equal(new BigInteger(10_000), handler.GetSpent("eip155:84532", TestData.UsdcSepolia));
    }

    [Fact]
    public void Constructor_Throws_WhenMaxTotalIsNotAnAmountOfEveryAsset()
    {
        var error = Assert.Throws<ArgumentException>(() => new X402PaymentHandler(_signer, new X402PaymentOptions { Policy = Policy, MaxTotal = "0.0000001" }));

        Assert.Contains("more than 6 decimal places", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_PaysExactlyUpToTotalCap_WhenRequestsRunConcurrently()
    {
        var server = new FakeX402Server();
        var (http, handler) = Client(server, new X402PaymentOptions { Policy = Policy, MaxTotal = "0.03" });

        var attempts = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            try
            {
                using var response = await http.GetAsync(new Uri(Url));
                return response.GetX402Outcome()!.Access == X402Access.Paid;
            }
            catch (X402PaymentException ex) when (ex.Failure == X402PaymentFailure.TotalCapExceeded)
            {
                return false;
            }
        }));

        Assert.Equal(3, attempts.Count(paid => paid));
        Assert.Equal(3, server.Settlements);
        Assert.Equal(3, _signer.TypedDataSignatures);
        Assert.Equal(new BigInteger(30_000), handler.GetSpent("eip155:84532", TestData.UsdcSepolia));
    }

    [Fact]
    public async Task SendAsync_ThrowsMalformedChallenge_When402CarriesNoRequirements()
    {
        var server = new FakeX402Server { Malformed = () => new HttpResponseMessage(HttpStatusCode.PaymentRequired) { Content = new StringContent("pay up") } };
        var (http, _) = Client(server);

        var error = await Assert.ThrowsAsync<X402PaymentException>(() => http.GetAsync(new Uri(Url)));

        Assert.Equal(X402PaymentFailure.MalformedChallenge, error.Failure);
        Assert.Contains("answered 402 without readable payment requirements", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _signer.TypedDataSignatures);
    }

    [Fact]
    public async Task SendAsync_ThrowsMalformedChallenge_WhenHeaderIsNotBase64Json()
    {
        var server = new FakeX402Server
        {
            Malformed = () =>
            {
                var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired);
                response.Headers.Add(X402Headers.PaymentRequired, "%%%not-base64%%%");
                return response;
            },
        };
        var (http, _) = Client(server);

        var error = await Assert.ThrowsAsync<X402PaymentException>(() => http.GetAsync(new Uri(Url)));

        Assert.Equal(X402PaymentFailure.MalformedChallenge, error.Failure);
        Assert.Contains("PAYMENT-REQUIRED header is not base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_PaysWithXPaymentAndReadsV1Receipt_WhenServerSpeaksV1()
    {
        var server = new FakeX402Server { V1 = true };
        var (http, _) = Client(server);

        using var response = await http.GetAsync(new Uri(Url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var outcome = response.GetX402Outcome()!;
        Assert.Equal(X402Access.Paid, outcome.Access);
        Assert.True(outcome.Settlement!.Success);
        Assert.Equal(1, outcome.Requirement!.X402Version);
        var paid = server.Requests.Last();
        Assert.NotNull(paid.XPayment);
        Assert.Null(paid.PaymentSignature);
    }

    [Fact]
    public async Task SendAsync_ReturnsServers402AfterOneRetry_WhenPaymentIsRejected()
    {
        var server = new FakeX402Server { RejectPaymentsWith = "invalid_exact_evm_insufficient_balance" };
        var (http, _) = Client(server);

        using var response = await http.GetAsync(new Uri(Url));

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var outcome = response.GetX402Outcome()!;
        Assert.Equal(X402Access.Rejected, outcome.Access);
        Assert.Equal("invalid_exact_evm_insufficient_balance", outcome.Error);
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(1, _signer.TypedDataSignatures);
    }

    [Fact]
    public async Task SendAsync_PassesThroughUntouched_WhenCallerSetsPaymentHeader()
    {
        var server = new FakeX402Server();
        var (http, _) = Client(server);
        using var request = new HttpRequestMessage(HttpMethod.Get, Url);
        request.Headers.Add(X402Headers.PaymentSignature, "e30=");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        Assert.Single(server.Requests);
        Assert.Equal(0, _signer.TypedDataSignatures);
    }

    [Fact]
    public async Task SendAsync_ThrowsCanceledAndSignsNothing_WhenCancelled()
    {
        var server = new FakeX402Server();
        var (http, _) = Client(server);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.GetAsync(new Uri(Url), cancel.Token));

        Assert.Equal(0, _signer.TypedDataSignatures);
    }

    [Fact]
    public async Task SendAsync_MessagesNeverContainPrivateKey_WhenRefusing()
    {
        var server = new FakeX402Server { Price = 60_000 };
        var (http, _) = Client(server);

        var error = await Assert.ThrowsAsync<X402PaymentException>(() => http.GetAsync(new Uri(Url)));

        Assert.DoesNotContain(TestData.PrivateKey[2..], error.ToString(), StringComparison.OrdinalIgnoreCase);
    }
}
