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
import { erc20Abi, parseEventLogs } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { isPermit2NonceUsed, startUptoChain } from "./upto-chain.mjs";

const MAXIMUM = "50000";
let up;
let server;
let payTo;

before(async () => {
  up = await startUptoChain();
  server = new x402ResourceServer(up.facilitator).register(up.network, new UptoServerScheme());
  await server.initialize();
  payTo = privateKeyToAccount(generatePrivateKey()).address;
});

after(() => up?.close());

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
