using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using X402Orleans.Gateway.Configuration;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.Upto;
using X402Orleans.Payments.Policy;
using X402Orleans.Payments.Siwx;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Gateway.Demo;

/// <summary>
/// A small x402 V2 resource server under <c>/demo/</c> so the embedded mode shows the whole flow with nothing else running.
/// It answers real 402 challenges (USDC on Base Sepolia), verifies the EIP-712 payment signature locally, refuses reused nonces,
/// offers sign-in-with-x, and SIMULATES settlement (no chain: receipts carry <c>"simulated": true</c>). Counts what it serves.
/// <c>/demo/metered</c> is an <c>upto</c> route: the client authorises a maximum (0.005) by a Permit2 witness permit, verified here
/// (our own EIP-712 recover), and the route charges what it used (a fixed 0.002; <c>?charge=0</c> charges 0), reported in
/// <c>PAYMENT-RESPONSE.amount</c>. As on chain, a permit charged 0 leaves its nonce unused (it can be settled again until its
/// deadline); a permit charged more cannot be used again (<c>permit2_invalid_nonce</c>).
/// <c>/demo/stream</c> is a <c>batch-settlement</c> route (0.001 per call; <c>?charge=N</c> charges N ≤ 1000 atomic): channels live in
/// memory (<see cref="DemoChannelServer"/>), deposits and settlement are simulated, vouchers are verified locally.
/// With a <see cref="DemoPaidStore"/> (Local mode on a file) it remembers who paid which path across restarts.
/// </summary>
public sealed class DemoPaywall(IOptions<X402Options> options, TimeProvider time, DemoPaidStore? store = null)
{
    private readonly ConcurrentDictionary<string, long> _served = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _paid = new((store?.Entries ?? []).Select(e => KeyValuePair.Create(PaidKey(e.Path, e.Payer), (byte)0)).DistinctBy(p => p.Key, StringComparer.Ordinal), StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _usedNonces = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, VerifiedProof> _verifiedProofs = new(StringComparer.Ordinal);
    private readonly DemoChannelServer _channels = new(time);
    private long _payments;
    private long _signIns;

    /// <summary>A priced demo route.</summary>
    /// <param name="Price">Atomic USDC (6 decimals); zero is free.</param>
    /// <param name="SignInWithX">Whether access can be reused by sign-in-with-x.</param>
    /// <param name="Description">Resource description.</param>
    /// <param name="Charge">For an <c>upto</c> route: what a call charges (atomic, at most <paramref name="Price"/>, its maximum); null for exact.</param>
    public sealed record Route(BigInteger Price, bool SignInWithX, string Description, BigInteger? Charge = null)
    {
        /// <summary>Whether the route is paid with <c>upto</c> (Price is the maximum).</summary>
        public bool IsUpto => Charge is not null;
    }

    /// <summary>The facilitator the demo's upto permits name (nobody settles: settlement is simulated).</summary>
    public const string DemoFacilitator = "0x4020000000000000000000000000000000000f4c";

    /// <summary>What <c>/demo/metered</c> charges per call (0.002 USDC) of its maximum (0.005 USDC).</summary>
    public static readonly BigInteger MeteredCharge = 2000;

    /// <summary>The price per call of <c>/demo/stream</c> (0.001 USDC), paid by channel voucher.</summary>
    public static readonly BigInteger StreamPrice = 1000;

    /// <summary>Calls served per path (after payment or proof checks).</summary>
    public IReadOnlyDictionary<string, long> Served => _served;

    /// <summary>Maps the demo routes.</summary>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var demo = endpoints.MapGroup("/demo").AllowAnonymous();
        demo.MapGet("/weather", (HttpContext ctx, DemoPaywall paywall) => paywall.ServeAsync(ctx, new Route(1000, true, "Weather report"), () => new JsonObject
        {
            ["city"] = "Lisbon",
            ["forecast"] = "sunny",
            ["temperature_c"] = 21,
        }));
        demo.MapGet("/quote", (HttpContext ctx, DemoPaywall paywall) => paywall.ServeAsync(ctx, new Route(2000, false, "A quote, paid per call"), () => new JsonObject
        {
            ["quote"] = "Simplicity is prerequisite for reliability.",
        }));
        demo.MapGet("/items/{id}", (HttpContext ctx, string id, DemoPaywall paywall) => paywall.ServeAsync(ctx, new Route(1000, true, "One item, paid per path"), () => new JsonObject
        {
            ["id"] = id,
            ["name"] = $"item {id}",
        }));
        demo.MapGet("/metered", (HttpContext ctx, DemoPaywall paywall) => paywall.ServeAsync(
            ctx,
            new Route(5000, false, "Metered: authorise up to 0.005, charged what is used (0.002; ?charge=0 charges 0)", ctx.Request.Query["charge"] == "0" ? BigInteger.Zero : MeteredCharge),
            () => new JsonObject
            {
                ["reading"] = "metered by use",
                ["charged_atomic"] = (ctx.Request.Query["charge"] == "0" ? BigInteger.Zero : MeteredCharge).ToString(CultureInfo.InvariantCulture),
            }));
        demo.MapGet("/stream", (HttpContext ctx, DemoPaywall paywall) =>
        {
            var charge = BigInteger.TryParse(ctx.Request.Query["charge"], NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? BigInteger.Min(c, StreamPrice) : StreamPrice;
            return paywall.ServeChannelAsync(ctx, charge, () => new JsonObject
            {
                ["tick"] = "one call of a stream, paid by channel voucher",
                ["charged_atomic"] = charge.ToString(CultureInfo.InvariantCulture),
            });
        });
        demo.MapGet("/free", (HttpContext ctx, DemoPaywall paywall) => paywall.ServeAsync(ctx, new Route(0, false, "Free"), () => new JsonObject
        {
            ["message"] = "no payment needed",
        }));
        demo.MapGet("/_stats", (DemoPaywall paywall) => Results.Json(new
        {
            served = paywall._served,
            payments = Interlocked.Read(ref paywall._payments),
            sign_ins = Interlocked.Read(ref paywall._signIns),
            channels = paywall._channels.Stats,
            settlement = "simulated",
        }));
    }

    /// <summary>Runs the paywall for one request.</summary>
    public async Task ServeAsync(HttpContext context, Route route, Func<JsonObject> content)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(content);
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var origin = new Uri($"{request.Scheme}://{request.Host.Value}");
        var resourceUrl = $"{request.Scheme}://{request.Host.Value}{request.PathBase}{request.Path}{request.QueryString}";
        var requirement = Requirement(route);
        var now = time.GetUtcNow();
        string? error = null;

        if (route.Price.IsZero)
        {
            await DeliverAsync(context, path, content, null);
            return;
        }

        if (route.SignInWithX && request.Headers[X402Headers.SignInWithX].ToString() is { Length: > 0 } proof)
        {
            if (TryAcceptProof(proof, request.Host.Value ?? string.Empty, origin, now, out var address)
                && _paid.ContainsKey(PaidKey(path, address!)))
            {
                Interlocked.Increment(ref _signIns);
                await DeliverAsync(context, path, content, null);
                return;
            }
        }

        if (request.Headers[X402Headers.PaymentSignature].ToString() is { Length: > 0 } signature)
        {
            if (route.IsUpto)
            {
                error = VerifyUpto(signature, requirement, now, out var uptoPayer, out var uptoNonce);
                if (error is null)
                {
                    // As Permit2: a charge of 0 transfers nothing and leaves the nonce unused; a charge consumes it.
                    var charge = route.Charge!.Value;
                    if (!charge.IsZero && !_usedNonces.TryAdd($"permit2|{uptoPayer}|{uptoNonce}", 0))
                    {
                        error = "permit2_invalid_nonce";
                    }
                    else
                    {
                        Interlocked.Increment(ref _payments);
                        var settled = new JsonObject
                        {
                            ["success"] = true,
                            ["transaction"] = charge.IsZero ? string.Empty : "0x" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{uptoPayer}|{uptoNonce}"))),
                            ["network"] = requirement.Network,
                            ["payer"] = uptoPayer,
                            ["amount"] = charge.ToString(CultureInfo.InvariantCulture),
                            ["simulated"] = true,
                        };
                        await DeliverAsync(context, path, content, X402Json.EncodeHeader(settled));
                        return;
                    }
                }
            }
            else if ((error = Verify(signature, requirement, now, out var payer, out var nonce)) is null)
            {
                if (!_usedNonces.TryAdd(nonce!, 0))
                {
                    error = "invalid_exact_evm_nonce_already_used";
                }
                else
                {
                    if (_paid.TryAdd(PaidKey(path, payer!), 0))
                    {
                        store?.Add(path, payer!);
                    }

                    Interlocked.Increment(ref _payments);
                    var receipt = new JsonObject
                    {
                        ["success"] = true,
                        ["transaction"] = "0x" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(nonce!))),
                        ["network"] = requirement.Network,
                        ["payer"] = payer,
                        ["simulated"] = true,
                    };
                    await DeliverAsync(context, path, content, X402Json.EncodeHeader(receipt));
                    return;
                }
            }
        }

        var challenge = PaymentRequired.Create(
            error ?? "Payment required",
            new ResourceInfo(resourceUrl, route.Description, "application/json"),
            [requirement],
            route.SignInWithX ? new JsonObject { [SiwxChallenge.ExtensionKey] = Challenge(request.Host.Value ?? string.Empty, resourceUrl, now).ToJson() } : null);
        context.Response.StatusCode = StatusCodes.Status402PaymentRequired;
        context.Response.Headers[X402Headers.PaymentRequired] = challenge.EncodeHeader();
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new JsonObject());
    }

    /// <summary>
    /// Runs the batch-settlement paywall of <c>/demo/stream</c>: 0.001 per call at most, charging <paramref name="charge"/>. A deposit
    /// (first call) or a voucher is verified locally (<see cref="DemoChannelServer"/>), a refund voucher returns the rest, and a
    /// voucher whose ceiling is not charged + price gets a corrective 402 carrying the server's channel state.
    /// </summary>
    public async Task ServeChannelAsync(HttpContext context, BigInteger charge, Func<JsonObject> content)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(content);
        var request = context.Request;
        var asset = AssetInfo.UsdcBaseSepolia;
        var requirement = DemoChannelServer.Requirement(asset.Network, asset.Address, options.Value.Demo.PayTo, StreamPrice);
        var resourceUrl = $"{request.Scheme}://{request.Host.Value}{request.PathBase}{request.Path}{request.QueryString}";
        var error = "Payment required";
        var offered = requirement;
        if (request.Headers[X402Headers.PaymentSignature].ToString() is { Length: > 0 } signature)
        {
            var verdict = _channels.Handle(signature, requirement, charge);
            if (verdict.Receipt is not null)
            {
                Interlocked.Increment(ref _payments);
                await DeliverAsync(context, request.Path.Value ?? "/", content, verdict.Receipt);
                return;
            }

            error = verdict.Error ?? error;
            offered = verdict.Corrective ?? requirement;
        }

        var challenge = PaymentRequired.Create(error, new ResourceInfo(resourceUrl, "A stream, paid per call by channel voucher (0.001 at most)", "application/json"), [offered], null);
        context.Response.StatusCode = StatusCodes.Status402PaymentRequired;
        context.Response.Headers[X402Headers.PaymentRequired] = challenge.EncodeHeader();
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new JsonObject());
    }

    /// <summary>
    /// Checks a sign-in-with-x proof. A proof verified before (the same header bytes for the same origin) is accepted again without
    /// repeating the ECDSA recovery until it expires (issued-at + 5 minutes, or its own expiration if sooner), as a server keeps a
    /// verified session; every other check is the same.
    /// </summary>
    private bool TryAcceptProof(string proof, string host, Uri origin, DateTimeOffset now, out string? address)
    {
        var key = string.Concat(origin.Scheme, "|", host, "|", proof);
        if (_verifiedProofs.TryGetValue(key, out var verified) && now < verified.ValidUntil)
        {
            address = verified.Address;
            return true;
        }

        if (!SiwxSigner.TryVerify(proof, host, origin, now, SiwxSigner.DefaultMaxAge, out address, out _, out _))
        {
            return false;
        }

        if (ValidUntil(proof) is { } until)
        {
            if (_verifiedProofs.Count >= MaxVerifiedProofs)
            {
                _verifiedProofs.Clear();
            }

            _verifiedProofs[key] = new VerifiedProof(address!, until);
        }

        return true;
    }

    private static DateTimeOffset? ValidUntil(string proof)
    {
        if (!X402Json.TryDecodeHeader(proof, out var json, out _)
            || !DateTimeOffset.TryParse(Text(json, "issuedAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var issued))
        {
            return null;
        }

        var until = issued + SiwxSigner.DefaultMaxAge;
        if (Text(json, "expirationTime") is { } text)
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires))
            {
                return null;
            }

            until = expires < until ? expires : until;
        }

        return until;
    }

    private static string? Text(JsonNode? json, string name) => json?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>Decodes a payment header and checks it accepts exactly <paramref name="requirement"/>; the refusal otherwise.</summary>
    private static string? DecodeMatching(string header, PaymentRequirements requirement, out PaymentPayload? payload)
    {
        if (!PaymentPayload.TryDecodeHeader(header, out payload, out var why))
        {
            return $"invalid_payload: {why}";
        }

        return JsonNode.DeepEquals(payload!.Accepted, requirement.ToJson()) ? null : "No matching payment requirements";
    }

    private string? Verify(string header, PaymentRequirements requirement, DateTimeOffset now, out string? payer, out string? nonce)
    {
        payer = null;
        nonce = null;
        if (DecodeMatching(header, requirement, out var payload) is { } refused)
        {
            return refused;
        }

        if (!ExactEvmScheme.TryVerify(payload!, requirement, now, out var authorization, out var why))
        {
            return why;
        }

        payer = EvmAddress.ToChecksum(authorization!.From);
        nonce = authorization.Nonce;
        return null;
    }

    private static string? VerifyUpto(string header, PaymentRequirements requirement, DateTimeOffset now, out string? payer, out string? nonce)
    {
        payer = null;
        nonce = null;
        if (DecodeMatching(header, requirement, out var payload) is { } refused)
        {
            return refused;
        }

        if (!UptoEvmScheme.TryVerify(payload!, requirement, now, out var permit, out var why))
        {
            return why;
        }

        payer = permit!.From;
        nonce = permit.Nonce.ToString(CultureInfo.InvariantCulture);
        return null;
    }

    private PaymentRequirements Requirement(Route route)
    {
        var asset = AssetInfo.UsdcBaseSepolia;
        var extra = new JsonObject { ["name"] = "USDC", ["version"] = "2" };
        if (route.IsUpto)
        {
            extra["facilitatorAddress"] = DemoFacilitator;
        }

        return PaymentRequirements.Create(route.IsUpto ? UptoEvmScheme.Name : ExactEvmScheme.Name, asset.Network, route.Price, asset.Address, options.Value.Demo.PayTo, 300, extra);
    }

    private static SiwxChallenge Challenge(string host, string resourceUrl, DateTimeOffset now) => new(
        new SiwxInfo(host, resourceUrl, "1", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), null, null, null, [resourceUrl], null),
        [new SiwxChain(AssetInfo.UsdcBaseSepolia.Network, "eip191")]);

    private async Task DeliverAsync(HttpContext context, string path, Func<JsonObject> content, string? receipt)
    {
        _served.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (receipt is not null)
        {
            context.Response.Headers[X402Headers.PaymentResponse] = receipt;
        }

        var body = content();
        body["settlement"] = "simulated (demo paywall: no chain)";
        await context.Response.WriteAsJsonAsync(body);
    }

    private const int MaxVerifiedProofs = 100_000;

    private sealed record VerifiedProof(string Address, DateTimeOffset ValidUntil);

    private static string PaidKey(string path, string payer) => $"{path}|{payer.ToLowerInvariant()}";
}

/// <summary>Registration helpers for the demo paywall.</summary>
public static class DemoPaywallExtensions
{
    /// <summary>Adds the paywall's services.</summary>
    public static IServiceCollection AddDemoPaywall(this IServiceCollection services) => services.AddSingleton<DemoPaywall>();
}
