using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using X402Orleans.Payments;
using X402Orleans.Payments.Evm;
using X402Orleans.Payments.Evm.BatchSettlement;
using X402Orleans.Payments.Wire;

namespace X402Orleans.Gateway.Demo;

/// <summary>What the demo channel server made of one paid request.</summary>
/// <param name="Receipt">The <c>PAYMENT-RESPONSE</c> header value when accepted.</param>
/// <param name="Error">The 402's error when refused.</param>
/// <param name="Corrective">For a corrective 402: the requirement carrying the server's channel and voucher state.</param>
internal sealed record ChannelVerdict(string? Receipt, string? Error, PaymentRequirements? Corrective = null);

/// <summary>
/// The server side of <c>batch-settlement</c> for the demo paywall, in memory, with our own primitives: a deposit's ERC-3009
/// <c>ReceiveWithAuthorization</c> signature is recovered locally and its settlement SIMULATED (the balance grows, no chain); each
/// voucher must recover to the channel's payer authorizer and carry ceiling = charged so far + the price (else a corrective 402 with
/// the server's channel state and the last voucher it holds, as the official server); the charge (≤ the price) is added to the
/// channel's charged total and reported in <c>extra.chargedAmount</c> and <c>extra.channelState</c>; a refund (a zero-charge voucher,
/// ceiling = charged) returns the rest. One request per channel at a time (a lock); the state lives in this process only.
/// </summary>
internal sealed class DemoChannelServer(TimeProvider time)
{
    /// <summary>The demo's receiver authorizer (nobody claims: settlement is simulated).</summary>
    public const string ReceiverAuthorizer = "0x4020000000000000000000000000000000000a17";

    private readonly ConcurrentDictionary<string, Channel> _channels = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, byte> _usedDepositNonces = new(StringComparer.OrdinalIgnoreCase);
    private long _deposits;
    private long _vouchers;
    private long _refunds;
    private long _corrections;

    /// <summary>Counters for <c>/demo/_stats</c>.</summary>
    public object Stats => new
    {
        deposits = Interlocked.Read(ref _deposits),
        vouchers = Interlocked.Read(ref _vouchers),
        refunds = Interlocked.Read(ref _refunds),
        corrections = Interlocked.Read(ref _corrections),
        channels = _channels.Count,
    };

    /// <summary>The route's requirement: the price per call, our receiver authorizer and the minimum withdraw delay.</summary>
    public static PaymentRequirements Requirement(string network, string asset, string payTo, BigInteger price) =>
        PaymentRequirements.Create(BatchSettlementScheme.Name, network, price, asset, payTo, 300, new JsonObject
        {
            ["name"] = "USDC",
            ["version"] = "2",
            ["receiverAuthorizer"] = ReceiverAuthorizer,
            ["withdrawDelay"] = BatchSettlementScheme.MinWithdrawDelay,
        });

    /// <summary>Verifies and applies one paid request charging <paramref name="charge"/> (at most the price).</summary>
    public ChannelVerdict Handle(string header, PaymentRequirements requirement, BigInteger charge)
    {
        if (!PaymentPayload.TryDecodeHeader(header, out var payload, out var why))
        {
            return new ChannelVerdict(null, $"invalid_payload: {why}");
        }

        var accepted = payload!.Accepted;
        if (Str(accepted, "scheme") != BatchSettlementScheme.Name || Str(accepted, "network") != requirement.Network
            || !EvmAddress.AreEqual(Str(accepted, "asset"), requirement.Asset) || !EvmAddress.AreEqual(Str(accepted, "payTo"), requirement.PayTo)
            || Str(accepted, "amount") != requirement.Amount.ToString(CultureInfo.InvariantCulture))
        {
            return new ChannelVerdict(null, "No matching payment requirements");
        }

        var body = payload.Payload;
        if (!ChannelConfig.TryRead(body["channelConfig"] as JsonObject, out var config, out why)
            || !EvmAddress.AreEqual(config!.Receiver, requirement.PayTo) || !EvmAddress.AreEqual(config.Token, requirement.Asset)
            || !EvmAddress.AreEqual(config.ReceiverAuthorizer, ReceiverAuthorizer))
        {
            return new ChannelVerdict(null, $"invalid_batch_settlement_evm_channel_config{(string.IsNullOrEmpty(why) ? string.Empty : $": {why}")}");
        }

        var channelId = config.ComputeId(requirement.Network);
        if (!Voucher.TryRead(body["voucher"] as JsonObject, out var voucher, out why) || !string.Equals(voucher!.ChannelId, channelId, StringComparison.OrdinalIgnoreCase))
        {
            return new ChannelVerdict(null, $"invalid_batch_settlement_evm_voucher: {why}");
        }

        if (!voucher.IsSignedBy(config.PayerAuthorizer, requirement.Network))
        {
            return new ChannelVerdict(null, "invalid_batch_settlement_evm_voucher_signature");
        }

        var channel = _channels.GetOrAdd(channelId, _ => new Channel());
        lock (channel)
        {
            return Str(body, "type") switch
            {
                "refund" => Refund(channel, channelId, config, voucher, requirement),
                "deposit" => Pay(channel, channelId, config, voucher, requirement, charge, body["deposit"] as JsonObject),
                "voucher" => Pay(channel, channelId, config, voucher, requirement, charge, null),
                _ => new ChannelVerdict(null, "invalid_payload: unknown batch-settlement payload type"),
            };
        }
    }

    private ChannelVerdict Pay(Channel channel, string channelId, ChannelConfig config, Voucher voucher, PaymentRequirements requirement, BigInteger charge, JsonObject? deposit)
    {
        var expected = channel.Charged + requirement.Amount;
        if (voucher.MaxClaimableAmount != expected)
        {
            Interlocked.Increment(ref _corrections);
            return Corrective(channel, channelId, requirement, BatchSettlementScheme.ErrCumulativeAmountMismatch);
        }

        var depositAmount = BigInteger.Zero;
        string? nonce = null;
        if (deposit is not null)
        {
            if (VerifyDeposit(deposit, config, channelId, requirement, out depositAmount, out nonce) is { } invalid)
            {
                return new ChannelVerdict(null, invalid);
            }
        }

        if (channel.Balance + depositAmount < voucher.MaxClaimableAmount)
        {
            return new ChannelVerdict(null, BatchSettlementScheme.ErrCumulativeExceedsBalance);
        }

        var transaction = string.Empty;
        if (nonce is not null)
        {
            if (!_usedDepositNonces.TryAdd(nonce, 0))
            {
                return new ChannelVerdict(null, "invalid_batch_settlement_evm_deposit_nonce_already_used");
            }

            channel.Balance += depositAmount;
            transaction = "0x" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(nonce)));
            Interlocked.Increment(ref _deposits);
        }

        var charged = BigInteger.Clamp(charge, BigInteger.Zero, requirement.Amount);
        channel.Charged += charged;
        channel.SignedMax = voucher.MaxClaimableAmount;
        channel.Signature = voucher.Signature;
        Interlocked.Increment(ref _vouchers);
        return new ChannelVerdict(Receipt(channel, channelId, config, requirement, charged, transaction), null);
    }

    private ChannelVerdict Refund(Channel channel, string channelId, ChannelConfig config, Voucher voucher, PaymentRequirements requirement)
    {
        if (voucher.MaxClaimableAmount != channel.Charged)
        {
            Interlocked.Increment(ref _corrections);
            return Corrective(channel, channelId, requirement, BatchSettlementScheme.ErrCumulativeAmountMismatch);
        }

        if (channel.Balance <= channel.Charged)
        {
            return new ChannelVerdict(null, BatchSettlementScheme.ErrRefundNoBalance);
        }

        // Simulated: claim what was charged, return the rest to the payer.
        channel.Claimed = channel.Charged;
        channel.Balance = channel.Charged;
        Interlocked.Increment(ref _refunds);
        return new ChannelVerdict(Receipt(channel, channelId, config, requirement, BigInteger.Zero, "0x" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"refund|{channelId}|{channel.Charged}")))), null);
    }

    private string? VerifyDeposit(JsonObject deposit, ChannelConfig config, string channelId, PaymentRequirements requirement, out BigInteger amount, out string? nonce)
    {
        nonce = null;
        var authorization = deposit["authorization"]?["erc3009Authorization"] as JsonObject;
        if (!AtomicAmount.TryParseAtomic(Str(deposit, "amount"), out amount) || amount.Sign <= 0 || authorization is null
            || !long.TryParse(Str(authorization, "validBefore"), NumberStyles.None, CultureInfo.InvariantCulture, out var validBefore)
            || Str(authorization, "salt") is not { } salt || Str(authorization, "signature") is not { } signature)
        {
            return "invalid_batch_settlement_evm_deposit: amount, validBefore, salt or signature missing";
        }

        if (validBefore <= time.GetUtcNow().ToUnixTimeSeconds())
        {
            return "invalid_batch_settlement_evm_deposit_expired";
        }

        TransferAuthorization receive;
        try
        {
            receive = BatchSettlementPayloads.DepositAuthorization(config.Payer, channelId, amount, validBefore, salt);
        }
        catch (ArgumentException)
        {
            return "invalid_batch_settlement_evm_deposit: the salt is not 32 bytes";
        }

        if (!Eip712.TryRecover(Eip3009.BuildTypedData(Eip3009Kind.ReceiveWithAuthorization, requirement, receive), signature, out var signer) || !EvmAddress.AreEqual(signer, config.Payer))
        {
            return "invalid_batch_settlement_evm_deposit_signature";
        }

        nonce = receive.Nonce;
        return null;
    }

    private static ChannelVerdict Corrective(Channel channel, string channelId, PaymentRequirements requirement, string error)
    {
        var extra = requirement.Extra?.DeepClone() as JsonObject ?? [];
        extra["channelState"] = State(channel, channelId);
        if (channel.Signature is not null)
        {
            extra["voucherState"] = new JsonObject
            {
                ["signedMaxClaimable"] = channel.SignedMax.ToString(CultureInfo.InvariantCulture),
                ["signature"] = channel.Signature,
            };
        }

        return new ChannelVerdict(null, error, PaymentRequirements.Create(requirement.Scheme, requirement.Network, requirement.Amount, requirement.Asset, requirement.PayTo, requirement.MaxTimeoutSeconds, extra));
    }

    private static string Receipt(Channel channel, string channelId, ChannelConfig config, PaymentRequirements requirement, BigInteger charged, string transaction) =>
        X402Json.EncodeHeader(new JsonObject
        {
            ["success"] = true,
            ["transaction"] = transaction,
            ["network"] = requirement.Network,
            ["payer"] = config.Payer,
            ["extra"] = new JsonObject
            {
                ["chargedAmount"] = charged.ToString(CultureInfo.InvariantCulture),
                ["channelState"] = State(channel, channelId),
            },
            ["simulated"] = true,
        });

    private static JsonObject State(Channel channel, string channelId) => new()
    {
        ["channelId"] = channelId,
        ["balance"] = channel.Balance.ToString(CultureInfo.InvariantCulture),
        ["totalClaimed"] = channel.Claimed.ToString(CultureInfo.InvariantCulture),
        ["withdrawRequestedAt"] = 0,
        ["refundNonce"] = 0,
        ["chargedCumulativeAmount"] = channel.Charged.ToString(CultureInfo.InvariantCulture),
    };

    private static string? Str(JsonObject? json, string name) => json?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private sealed class Channel
    {
        public BigInteger Balance { get; set; }

        public BigInteger Charged { get; set; }

        public BigInteger Claimed { get; set; }

        public BigInteger SignedMax { get; set; }

        public string? Signature { get; set; }
    }
}
