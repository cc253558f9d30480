// Self-test of upto-chain.mjs: the OFFICIAL upto client signs, the OFFICIAL resource server + upto facilitator verify and
// settle on anvil, through Permit2 and OUR proxy (contracts/UptoPermit2Proxy.sol). Run: cd tests/interop && node --test
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { x402Client } from "@x402/core/client";
import { x402ResourceServer } from "@x402/core/server";
import { toClientEvmSigner } from "@x402/evm";
import { UptoEvmScheme as UptoClientScheme } from "@x402/evm/upto/client";
import { UptoEvmScheme as UptoServerScheme } from "@x402/evm/upto/server";
import { declareEip2612GasSponsoringExtension } from "@x402/extensions";
import { wrapFetchWithPayment } from "@x402/fetch";
import { erc20Abi, parseEventLogs } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { UPTO_PRICES, isPermit2NonceUsed, serveFacilitator, startUptoChain, startUptoServer } from "./upto-chain.mjs";

const MAXIMUM = "50000";
let up;
let server;
let payTo;
let http; // the script mode's servers: the facilitator over HTTP and the official upto resource server (startUptoServer)

before(async () => {
  up = await startUptoChain();
  server = new x402ResourceServer(up.facilitator).register(up.network, new UptoServerScheme());
  await server.initialize();
  payTo = privateKeyToAccount(generatePrivateKey()).address;
  const facilitator = await serveFacilitator(up.facilitator);
  const upto = await startUptoServer({ network: up.network, token: up.token, payTo, facilitatorUrl: facilitator.url });
  http = { facilitator, upto };
});

after(async () => {
  for (const s of [http?.upto.server, http?.facilitator.server].filter(Boolean)) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
  await up?.close();
});

/** The official 402 for an upto route of MAXIMUM, and the official client's payment for it. */
async function officialPayment(payer, extensions) {
  const [requirements] = await server.buildPaymentRequirements({
    scheme: "upto",
    network: up.network,
    payTo,
    price: { amount: MAXIMUM, asset: up.token, extra: { name: "USDC", version: "2" } },
    maxTimeoutSeconds: 300,
  });
  const resource = { url: "http://127.0.0.1/api/metered", description: "", mimeType: "" };
  const paymentRequired = await server.createPaymentRequiredResponse([requirements], resource, "Payment required", extensions);
  const client = new x402Client();
  client.register("eip155:*", new UptoClientScheme(toClientEvmSigner(payer.account, up.publicClient)));
  client.setSpendControls(false);
  const payload = await client.createPaymentPayload(paymentRequired);
  return { requirements, payload };
}

/** The official server's settlement for `amount` (its settlement override, as `setSettlementOverrides` sends). */
const settle = (payment, amount) =>
  server.settlePayment(payment.payload, payment.requirements, undefined, undefined, { amount: String(amount) });

const proxyEvents = async (transaction) =>
  parseEventLogs({ abi: up.proxyAbi, logs: (await up.publicClient.getTransactionReceipt({ hash: transaction })).logs })
    .filter((e) => e.address.toLowerCase() === up.proxy.toLowerCase())
    .map((e) => e.eventName);

test("official upto facilitator settles less than the maximum through our proxy; a replay is refused", async () => {
  const payer = await up.newPayer();
  const payment = await officialPayment(payer);
  const nonce = payment.payload.payload.permit2Authorization.nonce;
  assert.equal(payment.payload.payload.permit2Authorization.spender, up.proxy);
  assert.equal(payment.payload.payload.permit2Authorization.witness.facilitator, up.operator.address);
  const verified = await server.verifyPayment(payment.payload, payment.requirements);
  assert.deepEqual([verified.isValid, verified.invalidReason], [true, undefined]);
  const [payerBefore, payToBefore] = [await up.balanceOf(payer.address), await up.balanceOf(payTo)];

  const settled = await settle(payment, 12345);
  assert.equal(settled.success, true, settled.errorReason);
  assert.equal(settled.amount, "12345");
  assert.match(settled.transaction, /^0x[0-9a-f]{64}$/);
  assert.deepEqual(await proxyEvents(settled.transaction), ["Settled"]);
  assert.equal(await up.balanceOf(payer.address), payerBefore - 12345n);
  assert.equal(await up.balanceOf(payTo), payToBefore + 12345n);
  assert.equal(await isPermit2NonceUsed(up.publicClient, payer.address, nonce), true);

  const replay = await settle(payment, 100);
  assert.equal(replay.errorReason, "permit2_simulation_failed"); // verify re-simulates settle: Permit2 reverts InvalidNonce
  assert.equal(replay.success, false);
  assert.equal(replay.transaction, "");
  assert.equal(await up.balanceOf(payer.address), payerBefore - 12345n);
});

test("a 0 settlement sends no transaction and leaves the payload spendable: settled again later for more", async () => {
  const payer = await up.newPayer();
  const payment = await officialPayment(payer);
  const nonce = payment.payload.payload.permit2Authorization.nonce;
  const payerBefore = await up.balanceOf(payer.address);

  const zero = await settle(payment, 0);
  assert.deepEqual([zero.success, zero.transaction, zero.amount], [true, "", "0"]);
  assert.equal(await up.balanceOf(payer.address), payerBefore);
  assert.equal(await isPermit2NonceUsed(up.publicClient, payer.address, nonce), false);

  // The notes' pitfall, on chain: the same signed payload is still good for up to its maximum.
  const later = await settle(payment, 20000);
  assert.equal(later.success, true, later.errorReason);
  assert.equal(await up.balanceOf(payer.address), payerBefore - 20000n);
  assert.equal(await isPermit2NonceUsed(up.publicClient, payer.address, nonce), true);
});

test("our proxy: a 0 settle sent by the facilitator itself burns the Permit2 nonce, so the payload is dead", async () => {
  const payer = await up.newPayer();
  const payment = await officialPayment(payer);
  const { permit2Authorization: auth, signature } = payment.payload.payload;
  const payerBefore = await up.balanceOf(payer.address);
  const hash = await up.operatorClient.writeContract({
    address: up.proxy,
    abi: up.proxyAbi,
    functionName: "settle",
    args: [
      { permitted: { token: auth.permitted.token, amount: BigInt(auth.permitted.amount) }, nonce: BigInt(auth.nonce), deadline: BigInt(auth.deadline) },
      0n,
      auth.from,
      { to: auth.witness.to, facilitator: auth.witness.facilitator, validAfter: BigInt(auth.witness.validAfter) },
      signature,
    ],
  });
  assert.equal((await up.publicClient.waitForTransactionReceipt({ hash })).status, "success");
  assert.equal(await up.balanceOf(payer.address), payerBefore);
  assert.equal(await isPermit2NonceUsed(up.publicClient, payer.address, auth.nonce), true);

  const refused = await settle(payment, 1000);
  assert.equal(refused.errorReason, "permit2_simulation_failed");
  assert.equal(refused.success, false);
  assert.equal(await up.balanceOf(payer.address), payerBefore);
});

test("our proxy refuses other callers than the witness facilitator, and more than the maximum", async () => {
  const payer = await up.newPayer();
  const payment = await officialPayment(payer);
  const { permit2Authorization: auth, signature } = payment.payload.payload;
  const args = (amount) => [
    { permitted: { token: auth.permitted.token, amount: BigInt(auth.permitted.amount) }, nonce: BigInt(auth.nonce), deadline: BigInt(auth.deadline) },
    amount,
    auth.from,
    { to: auth.witness.to, facilitator: auth.witness.facilitator, validAfter: BigInt(auth.witness.validAfter) },
    signature,
  ];
  const simulate = (account, amount) =>
    up.publicClient.simulateContract({ account, address: up.proxy, abi: up.proxyAbi, functionName: "settle", args: args(amount) });
  await assert.rejects(simulate(payer.address, 1n), /UnauthorizedFacilitator/);
  await assert.rejects(simulate(up.operator.address, BigInt(MAXIMUM) + 1n), /AmountExceedsPermitted/);
  await simulate(up.operator.address, BigInt(MAXIMUM)); // the worst case the facilitator's verify simulates

  const tooMuch = await settle(payment, BigInt(MAXIMUM) + 1n);
  assert.deepEqual([tooMuch.success, tooMuch.errorReason], [false, "invalid_upto_evm_payload_settlement_exceeds_amount"]);
});

test("eip2612GasSponsoring: a payer with no ETH and no approval is settled by settleWithPermit", async () => {
  const payer = await up.newPayer({ eth: 0n, approvePermit2: false });
  const payment = await officialPayment(payer, declareEip2612GasSponsoringExtension());
  const info = payment.payload.extensions?.eip2612GasSponsoring?.info;
  assert.equal(info?.amount, MAXIMUM);
  const verified = await server.verifyPayment(payment.payload, payment.requirements);
  assert.deepEqual([verified.isValid, verified.invalidReason], [true, undefined]);
  const payToBefore = await up.balanceOf(payTo);

  const settled = await settle(payment, 777);
  assert.equal(settled.success, true, settled.errorReason);
  assert.deepEqual(await proxyEvents(settled.transaction), ["SettledWithPermit"]);
  assert.equal(await up.balanceOf(payer.address), 10_000_000n - 777n);
  assert.equal(await up.balanceOf(payTo), payToBefore + 777n);
  const allowance = await up.publicClient.readContract({ address: up.token, abi: erc20Abi, functionName: "allowance", args: [payer.address, up.permit2] });
  assert.equal(allowance, BigInt(MAXIMUM) - 777n);
  assert.equal(await up.publicClient.getBalance({ address: payer.address }), 0n);
});

test("a payer without Permit2 allowance is refused at verify", async () => {
  const payer = await up.newPayer({ approvePermit2: false });
  const payment = await officialPayment(payer);
  const verified = await server.verifyPayment(payment.payload, payment.requirements);
  assert.deepEqual([verified.isValid, verified.invalidReason], [false, "permit2_allowance_required"]);
});

/** The official fetch wrapper with the official upto client (chain reads on: it signs an EIP-2612 permit when offered and needed). */
const officialFetch = (payer) => {
  const client = new x402Client();
  client.register("eip155:*", new UptoClientScheme(toClientEvmSigner(payer.account, up.publicClient)));
  client.setSpendControls(false);
  return wrapFetchWithPayment(fetch, client);
};
const receiptOf = (response) => JSON.parse(Buffer.from(response.headers.get("payment-response"), "base64").toString("utf8"));

test("script server: the official client pays /metered, the server settles the charge its handler reported", async () => {
  const payer = await up.newPayer();
  const before = [await up.balanceOf(payer.address), await up.balanceOf(payTo)];
  const paid = await officialFetch(payer)(`${http.upto.origin}/api/selftest/metered`);
  assert.equal(paid.status, 200);
  const receipt = receiptOf(paid);
  assert.deepEqual([receipt.success, receipt.amount], [true, UPTO_PRICES.charge]);
  assert.deepEqual(await proxyEvents(receipt.transaction), ["Settled"]);
  assert.equal(await up.balanceOf(payer.address), before[0] - BigInt(UPTO_PRICES.charge));
  assert.equal(await up.balanceOf(payTo), before[1] + BigInt(UPTO_PRICES.charge));
  const settled = http.upto.stats.settlements.filter((e) => e.resource.endsWith("/api/selftest/metered"));
  assert.deepEqual(settled.map((e) => [e.amount, e.maximum]), [[UPTO_PRICES.charge, UPTO_PRICES.maximum]]);
});

test("script server: /idle charges 0 (no transaction), /sponsored settles an unapproved payer with no ETH", async () => {
  const payer = await up.newPayer({ eth: 0n, approvePermit2: false });
  const before = await up.balanceOf(payer.address);
  const idle = await officialFetch(payer)(`${http.upto.origin}/api/selftest/idle`);
  // the plain permit needs an allowance: verify refuses it, and the official server answers 412 (not 402) for that reason
  assert.equal(idle.status, 412);
  assert.equal(JSON.parse(Buffer.from(idle.headers.get("payment-required"), "base64").toString("utf8")).error, "permit2_allowance_required");
  const sponsored = await officialFetch(payer)(`${http.upto.origin}/api/selftest/sponsored`);
  assert.equal(sponsored.status, 200);
  assert.deepEqual(await proxyEvents(receiptOf(sponsored).transaction), ["SettledWithPermit"]);
  assert.equal(await up.balanceOf(payer.address), before - BigInt(UPTO_PRICES.charge));

  const approved = await up.newPayer();
  const approvedBefore = await up.balanceOf(approved.address);
  const zero = await officialFetch(approved)(`${http.upto.origin}/api/selftest/idle`);
  assert.equal(zero.status, 200);
  assert.deepEqual([receiptOf(zero).success, receiptOf(zero).amount, receiptOf(zero).transaction], [true, "0", ""]);
  assert.equal(await up.balanceOf(approved.address), approvedBefore);
});
