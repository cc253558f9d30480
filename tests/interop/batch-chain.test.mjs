// Self-test of batch-chain.mjs: the OFFICIAL batch-settlement client pays the OFFICIAL batch-settlement server (@x402/express
// paymentMiddleware + x402ResourceServer) through the OFFICIAL facilitator on anvil, against OUR contracts
// (contracts/BatchSettlement.sol). Run: cd tests/interop && node --test
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { x402Client } from "@x402/core/client";
import { x402ResourceServer } from "@x402/core/server";
import { toClientEvmSigner } from "@x402/evm";
import { BatchSettlementEvmScheme as BatchClient, computeChannelId } from "@x402/evm/batch-settlement/client";
import { BatchSettlementEvmScheme as BatchServer } from "@x402/evm/batch-settlement/server";
import { paymentMiddleware, setSettlementOverrides } from "@x402/express";
import { declareEip2612GasSponsoringExtension } from "@x402/extensions";
import { decodePaymentResponseHeader, wrapFetchWithPayment } from "@x402/fetch";
import express from "express";
import { createWalletClient, encodeAbiParameters, erc20Abi, parseEventLogs } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startBatchChain, toChannelTuple } from "./batch-chain.mjs";

const PRICE = 1000n; // the route's maximum per request (atomic units); the default deposit is 10× that
let chain;

before(async () => {
  chain = await startBatchChain();
});

after(() => chain?.close());

/**
 * The official resource server for a fresh payee: GET /api/metered costs at most PRICE, charged `?units=` when given
 * (setSettlementOverrides), else PRICE. `extra` joins the price's extra (e.g. assetTransferMethod), `extensions` the route's.
 * Returns { url, scheme, manager (official channel manager), payTo, close }.
 */
async function startShop({ extra = {}, extensions } = {}) {
  const payTo = privateKeyToAccount(generatePrivateKey()).address;
  const scheme = new BatchServer(payTo);
  const resourceServer = new x402ResourceServer(chain.facilitator).register(chain.network, scheme);
  const app = express();
  app.use(
    paymentMiddleware(
      {
        "GET /api/metered": {
          accepts: {
            scheme: "batch-settlement",
            network: chain.network,
            payTo,
            price: { amount: String(PRICE), asset: chain.token, extra: { name: "USDC", version: "2", ...extra } },
          },
          description: "Metered",
          mimeType: "application/json",
          ...(extensions ? { extensions } : {}),
        },
      },
      resourceServer,
    ),
  );
  app.get("/api/metered", (req, res) => {
    if (req.query.units !== undefined) setSettlementOverrides(res, { amount: String(req.query.units) });
    res.json({ ok: true });
  });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/api/metered`,
    scheme,
    manager: scheme.createChannelManager(chain.facilitator, chain.network, chain.token),
    payTo,
    close: () => {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(r));
    },
  };
}

/** The official batch-settlement client for `payer`, as a paying fetch. */
function officialClient(payer) {
  const scheme = new BatchClient(toClientEvmSigner(payer.account, chain.publicClient));
  const client = new x402Client().register("eip155:*", scheme);
  client.setSpendControls(false); // TestUsdc is not a default asset
  return { scheme, fetch: wrapFetchWithPayment(fetch, client) };
}

/** Pays `units` (one request each, undefined = the full price) and returns the decoded PAYMENT-RESPONSEs. */
async function pay(client, shop, units) {
  const responses = [];
  for (const u of units) {
    const res = await client.fetch(u === undefined ? shop.url : `${shop.url}?units=${u}`);
    assert.equal(res.status, 200, `${await res.text()} ${res.headers.get("PAYMENT-RESPONSE") ?? ""}`);
    responses.push(decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")));
  }
  return responses;
}

const channelIdOf = (payment) => payment.extra.channelState.channelId;
const contractHoldings = () => chain.balanceOf(chain.batchSettlement);

test("official client pays N requests with one deposit transaction; the claim moves exactly the charged total; the refund returns the rest", async () => {
  const shop = await startShop();
  try {
    const payer = await chain.newPayer({ tokens: 1_000_000n, eth: 0n, approvePermit2: false }); // no gas, no approval
    const client = officialClient(payer);
    const holdingsBefore = await contractHoldings();
    const operatorTxsBefore = await chain.publicClient.getTransactionCount({ address: chain.operator.address });
    // cacheTime 0: viem answers getBlockNumber from a cache that the mint's receipt polling filled (pollingInterval 50 ms),
    // which under load can still hold the block before the mint, so the count below read one block too many.
    const blockNumber = () => chain.publicClient.getBlockNumber({ cacheTime: 0 });
    const blockBefore = await blockNumber();

    const units = [undefined, 250, 1, 999, undefined, 17];
    const charged = units.reduce((sum, u) => sum + (u === undefined ? PRICE : BigInt(u)), 0n); // 3267
    const responses = await pay(client, shop, units);

    // one deposit transaction (the first request), then vouchers only
    assert.match(responses[0].transaction, /^0x[0-9a-f]{64}$/);
    assert.deepEqual(responses.slice(1).map((r) => r.transaction), Array(units.length - 1).fill(""));
    assert.equal(await blockNumber(), blockBefore + 1n);
    assert.equal(await chain.publicClient.getTransactionCount({ address: chain.operator.address }), operatorTxsBefore + 1);
    assert.deepEqual(
      responses.map((r) => r.extra.chargedAmount),
      units.map((u) => String(u ?? PRICE)),
    );
    const deposit = 10n * PRICE;
    const channelId = channelIdOf(responses[0]);
    assert.equal(channelIdOf(responses.at(-1)), channelId);
    assert.equal(responses.at(-1).extra.channelState.chargedCumulativeAmount, String(charged));
    assert.deepEqual(await chain.channel(channelId), { balance: deposit, totalClaimed: 0n, withdrawAmount: 0n, withdrawInitiatedAt: 0, refundNonce: 0n });
    assert.equal(await chain.balanceOf(payer.address), 1_000_000n - deposit);
    assert.equal(await contractHoldings(), holdingsBefore + deposit);
    const depositReceipt = await chain.publicClient.getTransactionReceipt({ hash: responses[0].transaction });
    assert.deepEqual(
      parseEventLogs({ abi: chain.batchAbi, logs: depositReceipt.logs }).map((e) => [e.eventName, e.args.amount]),
      [["Deposited", deposit]],
    );

    // the server claims what it charged and sweeps it to the payee
    const { claims, settle } = await shop.manager.claimAndSettle();
    assert.equal(claims.length, 1);
    assert.match(settle.transaction, /^0x[0-9a-f]{64}$/);
    assert.equal(await chain.balanceOf(shop.payTo), charged);
    assert.deepEqual(await chain.receiverTotals(shop.payTo), { totalClaimed: charged, totalSettled: charged });
    assert.equal((await chain.channel(channelId)).totalClaimed, charged);
    assert.equal(await contractHoldings(), holdingsBefore + deposit - charged);
    assert.deepEqual(await shop.manager.claimAndSettle(), { claims: [], settle: undefined }); // nothing new to claim

    // the official cooperative refund: a zero-charge voucher, the facilitator sends claim + refundWithSignature
    const refund = await client.scheme.refund(shop.url);
    assert.equal(refund.success, true, refund.errorReason);
    assert.equal(refund.amount, String(deposit - charged));
    assert.equal(await chain.balanceOf(payer.address), 1_000_000n - charged);
    assert.deepEqual(await chain.channel(channelId), { balance: charged, totalClaimed: charged, withdrawAmount: 0n, withdrawInitiatedAt: 0, refundNonce: 1n });
    assert.equal(await chain.balanceOf(shop.payTo), charged);
    assert.equal(await contractHoldings(), holdingsBefore);
    assert.equal(await chain.publicClient.getBalance({ address: payer.address }), 0n);
  } finally {
    await shop.close();
  }
});

/** Asserts that the first response's deposit went through the Permit2DepositCollector and funded the channel with 10 × PRICE. */
async function assertPermit2Deposit(responses, payer, tokensBefore) {
  const deposit = 10n * PRICE;
  const channelId = channelIdOf(responses[0]);
  assert.deepEqual(await chain.channel(channelId), { balance: deposit, totalClaimed: 0n, withdrawAmount: 0n, withdrawInitiatedAt: 0, refundNonce: 0n });
  assert.equal(await chain.balanceOf(payer.address), tokensBefore - deposit);
  const receipt = await chain.publicClient.getTransactionReceipt({ hash: responses[0].transaction });
  assert.deepEqual(
    parseEventLogs({ abi: chain.batchAbi, logs: receipt.logs }).filter((e) => e.eventName === "Deposited").map((e) => [e.args.collector, e.args.amount]),
    [[chain.permit2DepositCollector, deposit]],
  );
  return channelId;
}

test("permit2 route: the official client deposits by a Permit2 witness transfer through the Permit2DepositCollector, then pays by voucher", async () => {
  const shop = await startShop({ extra: { assetTransferMethod: "permit2" } });
  try {
    const payer = await chain.newPayer({ tokens: 1_000_000n, approvePermit2: true }); // the one-time approval (its own gas)
    const client = officialClient(payer);
    const responses = await pay(client, shop, [undefined, 250]);

    assert.match(responses[0].transaction, /^0x[0-9a-f]{64}$/);
    assert.equal(responses[1].transaction, "");
    const channelId = await assertPermit2Deposit(responses, payer, 1_000_000n);
    assert.equal(responses[1].extra.channelState.chargedCumulativeAmount, String(PRICE + 250n));
    await shop.manager.claimAndSettle();
    assert.equal(await chain.balanceOf(shop.payTo), PRICE + 250n);
    assert.equal((await chain.channel(channelId)).totalClaimed, PRICE + 250n);
  } finally {
    await shop.close();
  }
});

test("permit2 route with eip2612GasSponsoring: a payer with no ETH and no approval deposits through an EIP-2612 permit for exactly the deposit", async () => {
  const shop = await startShop({ extra: { assetTransferMethod: "permit2" }, extensions: declareEip2612GasSponsoringExtension() });
  try {
    const payer = await chain.newPayer({ tokens: 1_000_000n, eth: 0n, approvePermit2: false });
    const responses = await pay(officialClient(payer), shop, [undefined]);

    await assertPermit2Deposit(responses, payer, 1_000_000n);
    // the permit allowed exactly the deposit, and Permit2 spent it all
    assert.equal(await chain.publicClient.readContract({ address: chain.token, abi: erc20Abi, functionName: "allowance", args: [payer.address, chain.permit2] }), 0n);
    assert.equal(await chain.publicClient.getBalance({ address: payer.address }), 0n);
  } finally {
    await shop.close();
  }
});

test("permit2 route without any allowance or sponsoring: the official facilitator refuses the deposit and no tokens move", async () => {
  const shop = await startShop({ extra: { assetTransferMethod: "permit2" } });
  try {
    const payer = await chain.newPayer({ tokens: 1_000_000n, eth: 0n, approvePermit2: false });
    const res = await officialClient(payer).fetch(shop.url);

    assert.equal(res.status, 402);
    const required = JSON.parse(Buffer.from(res.headers.get("PAYMENT-REQUIRED"), "base64").toString("utf8"));
    assert.equal(required.error, "invalid_batch_settlement_evm_permit2_allowance_required");
    assert.equal(await chain.balanceOf(payer.address), 1_000_000n);
  } finally {
    await shop.close();
  }
});

test("our contract refuses claims above the voucher, above the balance, below what was claimed, and foreign calls of either deposit collector", async () => {
  const shop = await startShop();
  try {
    const payer = await chain.newPayer({ tokens: 100_000n, eth: 0n, approvePermit2: false });
    const client = officialClient(payer);
    const responses = await pay(client, shop, [undefined, undefined]);
    const channelId = channelIdOf(responses[0]);
    const stored = await shop.scheme.getStorage().get(channelId);
    const config = toChannelTuple(stored.channelConfig);
    const voucher = { channel: config, maxClaimableAmount: BigInt(stored.signedMaxClaimable) }; // 2 × PRICE, signed by the payer
    const claimBatchTypes = {
      ClaimBatch: [{ name: "claims", type: "ClaimEntry[]" }],
      ClaimEntry: [
        { name: "channelId", type: "bytes32" },
        { name: "maxClaimableAmount", type: "uint128" },
        { name: "totalClaimed", type: "uint128" },
      ],
    };
    const domain = { name: "x402 Batch Settlement", version: "1", chainId: chain.chainId, verifyingContract: chain.batchSettlement };
    const claimArgs = async (totalClaimed, maxClaimableAmount = voucher.maxClaimableAmount, signature = stored.signature) => {
      const claims = [{ voucher: { ...voucher, maxClaimableAmount }, signature, totalClaimed }];
      const authorizerSignature = await chain.receiverAuthorizer.signTypedData({
        domain,
        types: claimBatchTypes,
        primaryType: "ClaimBatch",
        message: { claims: [{ channelId, maxClaimableAmount, totalClaimed }] },
      });
      return [claims, authorizerSignature];
    };
    const simulate = async (functionName, args, address = chain.batchSettlement, abi = chain.batchAbi) =>
      chain.publicClient.simulateContract({ account: chain.operator.address, address, abi, functionName, args });

    assert.equal(computeChannelId(stored.channelConfig, chain.network), channelId);
    assert.equal(await chain.publicClient.readContract({ address: chain.batchSettlement, abi: chain.batchAbi, functionName: "getChannelId", args: [config] }), channelId);
    await simulate("claimWithSignature", await claimArgs(2n * PRICE)); // the whole voucher: fine
    await assert.rejects(simulate("claimWithSignature", await claimArgs(2n * PRICE + 1n)), /ClaimExceedsVoucher/);
    await assert.rejects(simulate("claimWithSignature", await claimArgs(1n, 2n * PRICE + 1n)), /InvalidVoucherSignature/);
    const [claims] = await claimArgs(PRICE);
    await assert.rejects(simulate("claimWithSignature", [claims, await payer.account.signMessage({ message: "not the authorizer" })]), /InvalidAuthorizerSignature/);

    // a voucher above the deposit (the payer signed it, but the balance is 10 × PRICE)
    const bigMax = 20n * PRICE;
    const bigSignature = await payer.account.signTypedData({
      domain,
      types: { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "maxClaimableAmount", type: "uint128" }] },
      primaryType: "Voucher",
      message: { channelId, maxClaimableAmount: bigMax },
    });
    await simulate("claimWithSignature", await claimArgs(10n * PRICE, bigMax, bigSignature));
    await assert.rejects(simulate("claimWithSignature", await claimArgs(10n * PRICE + 1n, bigMax, bigSignature)), /ClaimExceedsBalance/);

    await shop.manager.claimAndSettle(); // totalClaimed = 2 × PRICE on chain
    await assert.rejects(simulate("claimWithSignature", await claimArgs(PRICE)), /ClaimDecreases/);

    const collectorData = encodeAbiParameters(
      [{ type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "bytes" }],
      [0n, 2n ** 40n, 1n, stored.signature],
    );
    await assert.rejects(
      simulate("collect", [payer.address, chain.token, 1n, channelId, collectorData], chain.depositCollector, chain.collectorAbi),
      /OnlyBatchSettlement/,
    );
    await assert.rejects(
      simulate("collect", [payer.address, chain.token, 1n, channelId, collectorData], chain.permit2DepositCollector, chain.permit2CollectorAbi),
      /OnlyBatchSettlement/,
    );
  } finally {
    await shop.close();
  }
});

// Last: it moves anvil's clock 900 s ahead, after which a fresh ERC-3009 deposit (validBefore = wall clock + timeout) expires.
test("unilateral exit: the payer's withdrawal waits withdrawDelay, the receiver can still claim meanwhile, and only the unclaimed rest is paid out", async () => {
  const shop = await startShop();
  try {
    const payer = await chain.newPayer({ tokens: 100_000n, approvePermit2: false }); // 1 ETH: the exit is the payer's own txs
    const client = officialClient(payer);
    const responses = await pay(client, shop, [undefined, 400]);
    const channelId = channelIdOf(responses[0]);
    const requirements = (await shop.scheme.getStorage().get(channelId)).channelConfig;
    const config = toChannelTuple(requirements);
    assert.equal(config.withdrawDelay, 900);
    const deposit = 10n * PRICE;
    const holdingsBefore = await contractHoldings();

    const wallet = createWalletClient({ account: payer.account, chain: chain.chain, transport: chain.transport });
    const send = async (functionName, args) => {
      const { request } = await chain.publicClient.simulateContract({ account: payer.account, address: chain.batchSettlement, abi: chain.batchAbi, functionName, args });
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await wallet.writeContract(request) });
      assert.equal(receipt.status, "success");
      return receipt;
    };
    await send("initiateWithdraw", [config, deposit]);
    const pending = await chain.channel(channelId);
    assert.equal(pending.withdrawAmount, deposit);
    assert.ok(pending.withdrawInitiatedAt > 0);
    await assert.rejects(send("finalizeWithdraw", [config]), /WithdrawDelayNotElapsed/);
    await chain.increaseTime(600);
    await assert.rejects(send("finalizeWithdraw", [config]), /WithdrawDelayNotElapsed/);

    // during the delay the receiver claims the vouchers it holds
    await shop.manager.claimAndSettle();
    assert.equal(await chain.balanceOf(shop.payTo), PRICE + 400n);

    await chain.increaseTime(300);
    const receipt = await send("finalizeWithdraw", [config]);
    assert.deepEqual(
      parseEventLogs({ abi: chain.batchAbi, logs: receipt.logs }).map((e) => [e.eventName, e.args.amount]),
      [["WithdrawFinalized", deposit - PRICE - 400n]],
    );
    assert.equal(await chain.balanceOf(payer.address), 100_000n - PRICE - 400n);
    assert.deepEqual(await chain.channel(channelId), { balance: PRICE + 400n, totalClaimed: PRICE + 400n, withdrawAmount: 0n, withdrawInitiatedAt: 0, refundNonce: 0n });
    assert.equal(await contractHoldings(), holdingsBefore - deposit);
    await assert.rejects(send("finalizeWithdraw", [config]), /NoPendingWithdrawal/);
  } finally {
    await shop.close();
  }
});
