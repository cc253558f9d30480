// batch-chain.mjs — a local chain for the x402 `batch-settlement` scheme: the upto chain (upto-chain.mjs: anvil, Permit2, our
// upto proxy, TestUsdc, Multicall3Lite, the official upto facilitator) plus OUR OWN batch-settlement contracts
// (contracts/BatchSettlement.sol, compiled for cancun) placed with anvil_setCode at the canonical x402BatchSettlement,
// ERC3009DepositCollector and Permit2DepositCollector addresses, and the OFFICIAL @x402/evm batch-settlement facilitator registered next to upto.
//
// As a module: `startBatchChain()` (below). As a script (for the C# end-to-end tests), long-running like upto-chain.mjs:
//   stdin:  one JSON line {chainId?, fundedWallets?, fundAmount?, batchTimeoutSeconds? = 300 (the batch server's metered routes'
//           maxTimeoutSeconds)}, then kept open; the chain stops when stdin closes (or SIGTERM)
//   stdout: one JSON line when ready: upto-chain.mjs's fields plus {batchSettlement, depositCollector,
//           permit2DepositCollector, receiverAuthorizer: {address, privateKey}}; the facilitator (POST /verify, POST /settle, GET /supported) serves upto and
//           batch-settlement, signs claims and refunds with the receiver authorizer and pays the gas. `servers.batch` is the
//           OFFICIAL batch-settlement resource server (startBatchServer below; prices.batchPrice / batchCharge), GET
//           controlUrl/stats includes what it observed (`batch`), POST controlUrl/batch/claim makes it claim and settle now
//           (claimAndSettle), POST controlUrl/batch/settle sweeps whatever is claimed but not settled (e.g. by refunds) to payTo.

import { fileURLToPath } from "node:url";
import express from "express";
import { HTTPFacilitatorClient } from "@x402/core/http";
import { x402ResourceServer } from "@x402/core/server";
import { BatchSettlementEvmScheme as BatchFacilitatorScheme } from "@x402/evm/batch-settlement/facilitator";
import { BatchSettlementEvmScheme as BatchServerScheme } from "@x402/evm/batch-settlement/server";
import { paymentMiddleware, setSettlementOverrides } from "@x402/express";
import { getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { compileContracts } from "./chain.mjs";
import { recordServed, recordSettleFailures, serveChainScript, startUptoChain, tokenAccepts, trackPaidRequests } from "./upto-chain.mjs";

export const BATCH_SETTLEMENT = getAddress("0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003");
export const ERC3009_DEPOSIT_COLLECTOR = getAddress("0x4020806089470a89826cB9fB1f4059150b550004");
export const PERMIT2_DEPOSIT_COLLECTOR = getAddress("0x4020425FAf3B746C082C2f942b4E5159887B0005");

/** The ChannelConfig tuple our contract takes (as viem wants it), from the official client's / payload's channelConfig. */
export const toChannelTuple = (config) => ({
  payer: getAddress(config.payer),
  payerAuthorizer: getAddress(config.payerAuthorizer),
  receiver: getAddress(config.receiver),
  receiverAuthorizer: getAddress(config.receiverAuthorizer),
  token: getAddress(config.token),
  withdrawDelay: Number(config.withdrawDelay),
  salt: config.salt,
});

/**
 * Starts the batch-settlement chain: everything startUptoChain returns, and { batchSettlement, depositCollector,
 * permit2DepositCollector, batchAbi, collectorAbi, permit2CollectorAbi,
 * receiverAuthorizerKey, receiverAuthorizer (account), channel(channelId) → {balance, totalClaimed, withdrawAmount,
 * withdrawInitiatedAt, refundNonce}, receiverTotals(receiver) → {totalClaimed, totalSettled}, increaseTime(seconds) }.
 * `facilitator` additionally serves batch-settlement (official scheme, receiver authorizer = `receiverAuthorizer`).
 */
export async function startBatchChain(options = {}) {
  const contracts = compileContracts(["BatchSettlement.sol"], { evmVersion: "cancun" });
  const up = await startUptoChain(options);
  try {
    await up.request("anvil_setCode", [BATCH_SETTLEMENT, contracts.X402BatchSettlement.deployedBytecode]);
    await up.request("anvil_setCode", [ERC3009_DEPOSIT_COLLECTOR, contracts.ERC3009DepositCollector.deployedBytecode]);
    await up.request("anvil_setCode", [PERMIT2_DEPOSIT_COLLECTOR, contracts.Permit2DepositCollector.deployedBytecode]);
    const receiverAuthorizerKey = options.receiverAuthorizerKey ?? generatePrivateKey();
    const receiverAuthorizer = privateKeyToAccount(receiverAuthorizerKey);
    up.facilitator.register(up.network, new BatchFacilitatorScheme(up.facilitatorSigner, receiverAuthorizer));
    const batchAbi = contracts.X402BatchSettlement.abi;
    const read = (functionName, args) => up.publicClient.readContract({ address: BATCH_SETTLEMENT, abi: batchAbi, functionName, args });
    return {
      ...up,
      batchSettlement: BATCH_SETTLEMENT,
      depositCollector: ERC3009_DEPOSIT_COLLECTOR,
      permit2DepositCollector: PERMIT2_DEPOSIT_COLLECTOR,
      batchAbi,
      collectorAbi: contracts.ERC3009DepositCollector.abi,
      permit2CollectorAbi: contracts.Permit2DepositCollector.abi,
      receiverAuthorizerKey,
      receiverAuthorizer,
      async channel(channelId) {
        const [[balance, totalClaimed], [withdrawAmount, withdrawInitiatedAt], refundNonce] = await Promise.all([
          read("channels", [channelId]),
          read("pendingWithdrawals", [channelId]),
          read("refundNonce", [channelId]),
        ]);
        return { balance, totalClaimed, withdrawAmount, withdrawInitiatedAt: Number(withdrawInitiatedAt), refundNonce };
      },
      async receiverTotals(receiver, token = up.token) {
        const [totalClaimed, totalSettled] = await read("receivers", [getAddress(receiver), getAddress(token)]);
        return { totalClaimed, totalSettled };
      },
      /** Moves anvil's clock forward by `seconds` and mines a block with the new time. */
      async increaseTime(seconds) {
        await up.request("evm_increaseTime", [Number(seconds)]);
        await up.request("evm_mine", []);
      },
    };
  } catch (error) {
    await up.close();
    throw error;
  }
}

// --- as a script: the chain plus the official upto + batch-settlement facilitator over HTTP, until stdin closes -----------

/** Atomic amounts of the batch server's routes (6 decimals): each request costs at most BATCH_PRICES.batchPrice and is charged batchCharge. */
export const BATCH_PRICES = { batchPrice: "10000", batchCharge: "3000" };

/** The payment payload of a request's PAYMENT-SIGNATURE header (base64 JSON), or null. */
function decodePaymentSignature(header) {
  try {
    return JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  } catch {
    return null;
  }
}

/**
 * The official batch-settlement resource server for the C# end-to-end tests: Express 5 + @x402/express `paymentMiddleware` +
 * `x402ResourceServer` (HTTPFacilitatorClient on `facilitatorUrl`) + @x402/evm/batch-settlement/server `BatchSettlementEvmScheme`
 * (in-memory channel storage, the facilitator's receiver authorizer). Every route costs at most BATCH_PRICES.batchPrice of the
 * token to `payTo` (`minDeposit` hint: 10 × that); the handler charges BATCH_PRICES.batchCharge (or `?charge=`) with
 * `setSettlementOverrides`. Routes (`:ns` is a test's own namespace): `GET /api/:ns/metered` (maxTimeoutSeconds `timeoutSeconds`),
 * `GET /api/:ns/metered/quick` (maxTimeoutSeconds 1: a voucher's lease at the payer is short; too short for a deposit, whose
 * ERC-3009 authorization must stay valid 6 s), `GET /api/:ns/metered/slow` (`timeoutSeconds`; answers after `?ms=` milliseconds,
 * default 2500).
 * `manager` is the scheme's official channel manager (claim / settle / refund on chain through the facilitator).
 * Returns { server, origin, payTo, stats (async snapshot), manager, claim }.
 */
export async function startBatchServer({ network, token, payTo, facilitatorUrl, timeoutSeconds = 300 }) {
  const log = { served: [], paidRequests: [], settlements: [], settleFailures: [], claims: [] };
  const facilitator = new HTTPFacilitatorClient({ url: facilitatorUrl, timeoutMs: 20000 });
  const scheme = new BatchServerScheme(payTo);
  const resourceServer = new x402ResourceServer(facilitator)
    .register(network, scheme)
    .onAfterSettle(async ({ paymentPayload, result }) => {
      log.settlements.push({
        resource: paymentPayload?.resource?.url ?? null,
        kind: paymentPayload?.payload?.type ?? null,
        ceiling: paymentPayload?.payload?.voucher?.maxClaimableAmount ?? null,
        success: result.success,
        transaction: result.transaction ?? null,
        amount: result.amount ?? null,
        chargedAmount: result.extra?.chargedAmount ?? null,
        channelState: result.extra?.channelState ?? null,
      });
    })
    .onSettleFailure(recordSettleFailures(log.settleFailures));
  const accepts = tokenAccepts({ scheme: "batch-settlement", network, token, payTo, amount: BATCH_PRICES.batchPrice });
  const routes = {
    "GET /api/:ns/metered": { accepts: accepts(timeoutSeconds), description: "Metered (batch-settlement)", mimeType: "application/json" },
    "GET /api/:ns/metered/quick": { accepts: accepts(1), description: "Metered, short timeout (batch-settlement)", mimeType: "application/json" },
    "GET /api/:ns/metered/slow": { accepts: accepts(timeoutSeconds), description: "Metered, slow (batch-settlement)", mimeType: "application/json" },
  };
  const paywall = paymentMiddleware(routes, resourceServer);
  const app = express();
  app.use(
    trackPaidRequests(paywall, log.paidRequests, (req, res, entry) => {
      const payload = decodePaymentSignature(req.get("PAYMENT-SIGNATURE"))?.payload;
      Object.assign(entry, {
        kind: payload?.type ?? null,
        channelId: payload?.voucher?.channelId ?? null,
        ceiling: payload?.voucher?.maxClaimableAmount ?? null,
        signature: payload?.voucher?.signature ?? null,
        deposit: payload?.deposit?.amount ?? null,
        status: null,
        error: null,
      });
      // "close" also when the client went away before the answer (then the status is what the server would have sent)
      res.on("close", () => {
        entry.status = res.statusCode;
        const required = res.getHeader("PAYMENT-REQUIRED");
        if (required) entry.error = decodePaymentSignature(String(required))?.error ?? null;
      });
    }),
  );
  app.get(["/api/:ns/metered", "/api/:ns/metered/:kind"], async (req, res) => {
    recordServed(log.served, req, res);
    if (req.params.kind === "slow") await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 2500)));
    const charge = String(req.query.charge ?? BATCH_PRICES.batchCharge);
    setSettlementOverrides(res, { amount: charge });
    res.json({ ok: true, server: "batch-chain", path: req.path, charged_atomic: charge });
  });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const manager = scheme.createChannelManager(facilitator, network, token);
  return {
    server,
    origin: `http://127.0.0.1:${server.address().port}`,
    payTo,
    scheme,
    manager,
    /** Claims every channel's charged vouchers and settles them to payTo (the official channel manager); recorded in stats.claims. */
    async claim() {
      const { claims, settle } = await manager.claimAndSettle();
      const entry = { claims, settle: settle ?? null };
      log.claims.push(entry);
      return entry;
    },
    /** Settles to payTo whatever is claimed but not settled (the official manager's settle); `{transaction: null}` when nothing is. */
    async settle() {
      try {
        return await manager.settle();
      } catch (error) {
        if (/nothing_to_settle/.test(error instanceof Error ? error.message : String(error))) return { transaction: null };
        throw error;
      }
    },
    /** The log plus the server's channel records (its storage) now. */
    async stats() {
      const channels = (await scheme.getStorage().list()).map((c) => ({
        channelId: c.channelId,
        payer: c.channelConfig.payer,
        chargedCumulativeAmount: c.chargedCumulativeAmount,
        signedMaxClaimable: c.signedMaxClaimable,
        balance: c.balance,
        totalClaimed: c.totalClaimed,
        refundNonce: c.refundNonce,
      }));
      return { ...log, channels };
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await serveChainScript(
    startBatchChain,
    (up) => ({
      batchSettlement: up.batchSettlement,
      depositCollector: up.depositCollector,
      permit2DepositCollector: up.permit2DepositCollector,
      receiverAuthorizer: { address: up.receiverAuthorizer.address, privateKey: up.receiverAuthorizerKey },
    }),
    async (up, { facilitatorUrl, app, config }) => {
      const payTo = privateKeyToAccount(generatePrivateKey()).address;
      const batch = await startBatchServer({ network: up.network, token: up.token, payTo, facilitatorUrl, timeoutSeconds: config.batchTimeoutSeconds ?? 300 });
      for (const [path, action] of [["/batch/claim", () => batch.claim()], ["/batch/settle", () => batch.settle()]]) {
        app.post(path, async (_req, res) => {
          try {
            res.json(await action());
          } catch (error) {
            res.status(500).json({ error: error instanceof Error ? error.message : String(error) });
          }
        });
      }
      return [{ name: "batch", server: batch.server, origin: batch.origin, payTo, prices: BATCH_PRICES, stats: () => batch.stats() }];
    },
  );
}
