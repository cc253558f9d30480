// official-batch.mjs — the OFFICIAL batch-settlement client's and resource server's view of one channel.
//
// stdin, one of:
//   { "op": "challenge", "payTo", "asset", "amount", "network", "receiverAuthorizerKey", "name"?, "version"?,
//     "withdrawDelay"?, "minDeposit"?, "maxTimeoutSeconds"?, "url"?,
//     "assetTransferMethod"?: "permit2",   // extra.assetTransferMethod: deposits by Permit2 witness transfer
//     "tokenDomain"?: false,               // leave extra.name/version out (a permit2 token without EIP-2612)
//     "eip2612GasSponsoring"?: true }      // declare the eip2612GasSponsoring extension
//     → { "paymentRequiredHeader", "paymentRequired" }   the 402 the official server writes for a batch-settlement route
//   { "op": "client", "privateKey", "paymentRequiredHeader", "nowMs", "random": "0x<32 bytes>",
//     "salt"?, "payerAuthorizer"?, "spendControls"?, "depositMultiplier"?,
//     "channel"?: { "chargedCumulativeAmount", "balance" },   // local state for the voucher and refund payloads
//     "refundAmount"?,
//     "chain"?: { "allowance": "<decimal>" | null, "permitNonce": "<decimal>" } }
//     // chain: the signer's readContract — allowance(owner, Permit2) (null = the read fails) and the token's EIP-2612
//     // nonces(owner), and the channel reads as empty; without it the signer has no readContract (no gas-sponsoring
//     // extension is ever signed)
//     → { "channelConfig", "channelId", "deposit": {header, payload}, "voucher": {header, payload} | null,
//         "refund": {header, payload} | null }
//   { "op": "verify", "paymentSignatureHeader", "paymentRequiredHeader", "receiverAuthorizerKey",
//     "channel": { "chargedCumulativeAmount", "balance", "totalClaimed", "signedMaxClaimable"?, "signature"? } }
//     → { "verifyResponse", "local": bool, "correctivePaymentRequiredHeader": <base64> | null }
//     the official resource server's verdict on a voucher, and the corrective 402 it writes on a cumulative mismatch
//
// "client": BatchSettlementEvmScheme from @x402/evm/batch-settlement/client on an x402Client/x402HTTPClient
// (signer = privateKeyToAccount, no RPC so nothing is read from a chain unless "chain" is given). Date.now is fixed
// to "nowMs" and crypto.getRandomValues fills every buffer with "random" (its only use is the deposit's ERC-3009
// salt, or its Permit2 nonce), so the output is deterministic. "deposit" is the first payload (empty channel storage); "voucher" and "refund"
// are signed after "channel" was put in the client's storage (what a PAYMENT-RESPONSE would have left there);
// the refund goes through the official BatchSettlementEvmScheme.refund() with a stub fetch that answers the
// probe with the given 402 and captures the PAYMENT-SIGNATURE it then sends.
// "verify": x402ResourceServer (what @x402/express uses) with the official batch-settlement server scheme,
// whose in-memory channel storage holds "channel" as freshly synced from chain (onchainSyncedAt = now), and
// the official batch-settlement facilitator on the offline chain view (lib.mjs) — which cannot read channel
// state, so a voucher is accepted only if the server verified it locally ("local": true).

import { x402Client, x402HTTPClient } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import { x402ResourceServer } from "@x402/core/server";
import {
  BatchSettlementEvmScheme as BatchClient,
  computeChannelId,
  InMemoryClientChannelStorage,
} from "@x402/evm/batch-settlement/client";
import { BatchSettlementEvmScheme as BatchServer, InMemoryChannelStorage } from "@x402/evm/batch-settlement/server";
import { BatchSettlementEvmScheme as BatchFacilitator } from "@x402/evm/batch-settlement/facilitator";
import { declareEip2612GasSponsoringExtension } from "@x402/extensions";
import { privateKeyToAccount } from "viem/accounts";
import { createOfflineChainView, run } from "./lib.mjs";

const decode = (header) => JSON.parse(Buffer.from(header, "base64").toString("utf8"));

/** The official server + facilitator pair for one network (the facilitator advertises the receiver authorizer). */
async function createServer(network, payTo, receiverAuthorizerKey, asset, storage) {
  const facilitator = new x402Facilitator().register(
    network,
    new BatchFacilitator(createOfflineChainView({ contracts: asset ? [asset] : [] }), privateKeyToAccount(receiverAuthorizerKey)),
  );
  const scheme = new BatchServer(payTo, { storage });
  const server = new x402ResourceServer(facilitator).register(network, scheme);
  await server.initialize();
  return { server, scheme };
}

async function challenge(input) {
  const { server } = await createServer(input.network, input.payTo, input.receiverAuthorizerKey, input.asset);
  const extra = input.tokenDomain === false ? {} : { name: input.name ?? "USDC", version: input.version ?? "2" };
  if (input.minDeposit !== undefined) extra.minDeposit = input.minDeposit;
  if (input.assetTransferMethod !== undefined) extra.assetTransferMethod = input.assetTransferMethod;
  const requirements = await server.buildPaymentRequirements({
    scheme: "batch-settlement",
    network: input.network,
    payTo: input.payTo,
    price: { amount: input.amount, asset: input.asset, extra },
    maxTimeoutSeconds: input.maxTimeoutSeconds,
  });
  const resource = { url: input.url ?? "http://127.0.0.1:4021/api/data", description: "", mimeType: "" };
  const extensions = input.eip2612GasSponsoring ? declareEip2612GasSponsoringExtension() : undefined;
  const paymentRequired = await server.createPaymentRequiredResponse(requirements, resource, "Payment required", extensions);
  return { paymentRequiredHeader: Buffer.from(JSON.stringify(paymentRequired)).toString("base64"), paymentRequired };
}

async function client(input) {
  const fill = Buffer.from(input.random.slice(2), "hex");
  if (fill.length !== 32) throw new Error("random must be 32 bytes of hex");
  globalThis.crypto.getRandomValues = (buffer) => {
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = fill[i % fill.length];
    return buffer;
  };
  Date.now = () => input.nowMs;

  const account = privateKeyToAccount(input.privateKey);
  let signer = account;
  if (input.chain) {
    const chain = input.chain;
    signer = { address: account.address, signTypedData: (message) => account.signTypedData(message) };
    signer.readContract = async ({ functionName }) => {
      if (functionName === "allowance") {
        if (chain.allowance === null || chain.allowance === undefined) throw new Error("allowance read fails");
        return BigInt(chain.allowance);
      }
      if (functionName === "nonces") return BigInt(chain.permitNonce);
      if (functionName === "channels") return [0n, 0n]; // the client recovers an unknown channel from chain: empty
      throw new Error(`unexpected read ${functionName}`);
    };
  }

  const storage = new InMemoryClientChannelStorage();
  const scheme = new BatchClient(signer, {
    storage,
    ...(input.salt !== undefined ? { salt: input.salt } : {}),
    ...(input.payerAuthorizer !== undefined ? { payerAuthorizer: input.payerAuthorizer } : {}),
    ...(input.depositMultiplier !== undefined ? { depositPolicy: { depositMultiplier: input.depositMultiplier } } : {}),
  });
  const x402 = new x402Client();
  x402.register("eip155:*", scheme);
  if (input.spendControls !== undefined) x402.setSpendControls(input.spendControls);
  const http = new x402HTTPClient(x402);
  const paymentRequired = http.getPaymentRequiredResponse((name) =>
    name.toUpperCase() === "PAYMENT-REQUIRED" ? input.paymentRequiredHeader : null,
  );
  const requirements = paymentRequired.accepts.find((a) => a.scheme === "batch-settlement");
  const channelConfig = scheme.buildChannelConfig(requirements);
  const channelId = computeChannelId(channelConfig, requirements.network);

  const sign = async () => {
    const header = http.encodePaymentSignatureHeader(await http.createPaymentPayload(paymentRequired))["PAYMENT-SIGNATURE"];
    return { header, payload: decode(header) };
  };

  const deposit = await sign();
  let voucher = null;
  let refund = null;
  if (input.channel !== undefined) {
    await storage.set(channelId, { ...input.channel });
    voucher = await sign();

    await storage.set(channelId, { ...input.channel });
    let sent;
    const fetch = async (_url, init) => {
      const header = init?.headers?.["PAYMENT-SIGNATURE"];
      if (header === undefined) {
        return new Response("{}", { status: 402, headers: { "PAYMENT-REQUIRED": input.paymentRequiredHeader } });
      }
      sent = header;
      const settle = { success: true, transaction: "", network: requirements.network, payer: channelConfig.payer };
      return new Response("{}", { status: 200, headers: { "PAYMENT-RESPONSE": Buffer.from(JSON.stringify(settle)).toString("base64") } });
    };
    await scheme.refund("http://127.0.0.1/refund", { fetch, ...(input.refundAmount !== undefined ? { amount: input.refundAmount } : {}) });
    refund = { header: sent, payload: decode(sent) };
  }

  return { channelConfig, channelId, deposit, voucher, refund };
}

async function verify(input) {
  const payment = decode(input.paymentSignatureHeader);
  const paymentRequired = decode(input.paymentRequiredHeader);
  const requirements = paymentRequired.accepts.find((a) => a.scheme === "batch-settlement");
  const raw = payment.payload;
  const storage = new InMemoryChannelStorage();
  const now = Date.now();
  const channel = input.channel;
  await storage.updateChannel(raw.voucher.channelId, () => ({
    channelId: raw.voucher.channelId.toLowerCase(),
    channelConfig: raw.channelConfig,
    chargedCumulativeAmount: channel.chargedCumulativeAmount,
    signedMaxClaimable: channel.signedMaxClaimable ?? channel.chargedCumulativeAmount,
    signature: channel.signature ?? "0x",
    balance: channel.balance,
    totalClaimed: channel.totalClaimed,
    withdrawRequestedAt: 0,
    refundNonce: 0,
    onchainSyncedAt: now,
    lastRequestTimestamp: now,
  }));
  const { server } = await createServer(requirements.network, requirements.payTo, input.receiverAuthorizerKey, requirements.asset, storage);
  const verifyResponse = await server.verifyPayment(payment, requirements);
  const stored = await storage.get(raw.voucher.channelId);
  // A local verification leaves onchainSyncedAt as it was; a facilitator one (impossible offline) would renew it.
  const local = verifyResponse.isValid === true && stored?.onchainSyncedAt === now;
  let correctivePaymentRequiredHeader = null;
  if (verifyResponse.invalidReason === "invalid_batch_settlement_evm_cumulative_amount_mismatch") {
    // what the middleware answers: a 402 that the scheme enriches with its channel and voucher state
    const corrective = await server.createPaymentRequiredResponse(
      [requirements], paymentRequired.resource, verifyResponse.invalidReason, undefined, undefined, payment,
    );
    correctivePaymentRequiredHeader = Buffer.from(JSON.stringify(corrective)).toString("base64");
  }
  return { verifyResponse, local, correctivePaymentRequiredHeader };
}

run(async (input) => {
  switch (input.op) {
    case "challenge":
      return challenge(input);
    case "client":
      return client(input);
    case "verify":
      return verify(input);
    default:
      throw new Error(`unknown op ${input.op}`);
  }
});
