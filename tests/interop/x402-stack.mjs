// x402-stack.mjs — the real x402 stack on loopback, for the end-to-end tests: a local chain, the OFFICIAL facilitator served over
// HTTP, two OFFICIAL V2 resource servers and one V1 server. Long-running: it prints ONE JSON line on stdout when everything
// listens (addresses, keys, routes) and runs until its stdin closes (the test process ended or let go) or it gets SIGTERM/SIGINT.
//
// stdin:  optional JSON config on the FIRST line: { "fundedWallets"?: n (default 3), "fundAmount"?: "10000000" }; then keep the
//         pipe open for as long as the stack should live.
// stdout: { rpcUrl, chainId, network, token, otherToken, decimals, facilitatorUrl, servers: { main, strict, v1 }, controlUrl,
//           payTo: { main, strict, v1 }, wallets: { funded: [{ address, privateKey }], unfunded: { address, privateKey } },
//           routes: {…} }
//
// Chain:  ganache 7.9.2 in-process (JSON-RPC on 127.0.0.1, chain id 84532 so that the V1 name "base-sepolia" maps to it), our
//         TestUsdc (EIP-3009, EIP-712 domain "USDC"/"2", 6 decimals) compiled with solc at start, Multicall3 tryAggregate at its
//         canonical address, payer wallets funded with the token (they need no ETH: the facilitator pays gas).
// Facilitator: @x402/core x402Facilitator + @x402/evm ExactEvmScheme (V2, eip155:84532) and ExactEvmSchemeV1 (V1, base-sepolia)
//         with a viem wallet+public client on the local chain (toFacilitatorEvmSigner), served as POST /verify, POST /settle,
//         GET /supported. It also listens on a second port ("switchable") that the control API can take down and bring back.
// V2 servers: Express 5 + @x402/express paymentMiddleware + x402ResourceServer(HTTPFacilitatorClient) + ExactEvmServerScheme +
//         createSIWxResourceServerExtension (@x402/extensions/sign-in-with-x). "main" uses the official InMemorySIWxStorage;
//         "strict" uses single-use SIWX nonces and reaches the facilitator through the switchable port.
// V1 server: Express route speaking x402 V1 by the spec (402 JSON body, X-PAYMENT, X-PAYMENT-RESPONSE) that verifies and settles
//         through the same official facilitator over HTTP (HTTPFacilitatorClient, x402Version 1).
// Control (controlUrl): GET /stats, POST /facilitator/switchable/down, POST /facilitator/switchable/up.
//
// Every route is under a namespace segment (:ns) so that each test uses paths of its own: the servers remember "who paid for
// which path" (SIWX), and tests must not see each other's payments.

import http from "node:http";
import express from "express";
import { paymentMiddleware } from "@x402/express";
import { x402ResourceServer } from "@x402/core/server";
import { HTTPFacilitatorClient } from "@x402/core/http";
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from "@x402/evm/exact/facilitator";
import { ExactEvmSchemeV1 as ExactEvmFacilitatorSchemeV1 } from "@x402/evm/exact/v1/facilitator";
import { ExactEvmScheme as ExactEvmServerScheme } from "@x402/evm/exact/server";
import {
  createSIWxResourceServerExtension,
  declareSIWxExtension,
  InMemorySIWxStorage,
} from "@x402/extensions/sign-in-with-x";
import { createWalletClient, publicActions } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startChain } from "./chain.mjs";

// stdout carries exactly one JSON line: anything the packages log goes to stderr.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

const NETWORK = "eip155:84532";
const V1_NETWORK = "base-sepolia";
const BASE_MAINNET = "eip155:8453";

/** Prices in atomic units of the token (6 decimals). */
export const PRICES = { weather: "1000", quote: "2000", echo: "3000", item: "1000", premium: "50000", other: "1000", v1: "4000" };

const config = await readConfigLine();
const fundedCount = config.fundedWallets ?? 3;
const fundAmount = BigInt(config.fundAmount ?? "10000000");

const chain = await startChain({ chainId: 84532 });
const otherToken = await chain.deployToken("Other USD", "1", "OUSD");
const facilitatorSigner = toFacilitatorEvmSigner({
  ...createWalletClient({ account: chain.operator, chain: chain.chain, transport: chain.transport }).extend(publicActions),
  address: chain.operator.address,
});

// --- wallets ---------------------------------------------------------------------------------------------------------------
const newWallet = () => {
  const privateKey = generatePrivateKey();
  return { address: privateKeyToAccount(privateKey).address, privateKey };
};
const funded = Array.from({ length: fundedCount }, newWallet);
for (const w of funded) {
  await chain.mint(w.address, fundAmount);
  // also hold the asset the gateway is NOT allowed to pay with, so a wrong payment would show on the chain
  await chain.mint(w.address, fundAmount, otherToken);
}
const unfunded = newWallet();
const payTo = { main: newWallet().address, strict: newWallet().address, v1: newWallet().address };

// --- stats (what the servers and the facilitator observed) -------------------------------------------------------------------
const stats = {
  facilitator: { verify: [], settle: [] },
  main: newServerStats(),
  strict: newServerStats(),
  v1: newServerStats(),
};
function newServerStats() {
  // served: one entry per request that reached the route handler (past the paywall), with its final status
  // settlements: successful settlements reported by the facilitator to this server
  // siwx: sign-in-with-x events of the official extension (payment_recorded, access_granted, validation_failed, nonce_reused)
  // paidRequests: one entry per request carrying a payment header, done once the paywall finished with it (verified and settled
  // or refused), whether or not the client is still connected: a client that died mid-request leaves nothing in flight unseen
  return { served: [], settlements: [], settleFailures: [], siwx: [], paidRequests: [], requests: 0 };
}

// --- facilitator -------------------------------------------------------------------------------------------------------------
const facilitator = new x402Facilitator()
  // The facilitator also claims Base mainnet so that the official middleware accepts a route priced there (its route check
  // asks the facilitator). The gateway must refuse that network before paying; nothing for it is ever settled here.
  .register([NETWORK, BASE_MAINNET], new ExactEvmFacilitatorScheme(facilitatorSigner))
  .registerV1([V1_NETWORK], new ExactEvmFacilitatorSchemeV1(facilitatorSigner));

const facilitatorApp = express();
facilitatorApp.use(express.json({ limit: "1mb" }));
facilitatorApp.get("/supported", (_req, res) => res.json(facilitator.getSupported()));
facilitatorApp.post("/verify", async (req, res) => {
  const { paymentPayload, paymentRequirements } = req.body ?? {};
  try {
    const result = await facilitator.verify(paymentPayload, paymentRequirements);
    stats.facilitator.verify.push({ isValid: result.isValid, invalidReason: result.invalidReason ?? null, payer: result.payer ?? null });
    res.json(result);
  } catch (error) {
    stats.facilitator.verify.push({ isValid: false, error: message(error) });
    res.status(500).json({ error: message(error) });
  }
});
facilitatorApp.post("/settle", async (req, res) => {
  const { paymentPayload, paymentRequirements } = req.body ?? {};
  try {
    const result = await facilitator.settle(paymentPayload, paymentRequirements);
    stats.facilitator.settle.push({
      success: result.success,
      errorReason: result.errorReason ?? null,
      transaction: result.transaction ?? null,
      payer: result.payer ?? null,
      amount: paymentRequirements?.amount ?? paymentRequirements?.maxAmountRequired ?? null,
      x402Version: paymentPayload?.x402Version ?? null,
    });
    res.json(result);
  } catch (error) {
    stats.facilitator.settle.push({ success: false, error: message(error) });
    res.status(500).json({ error: message(error) });
  }
});
const facilitatorServer = await listen(facilitatorApp);
const facilitatorUrl = origin(facilitatorServer);

// The switchable listener: same facilitator app, its own port, can be closed and reopened on that port.
let switchableServer = await listen(facilitatorApp);
const switchablePort = switchableServer.address().port;
const switchableUrl = origin(switchableServer);

// --- V2 resource servers -----------------------------------------------------------------------------------------------------
class SingleUseNonceStorage extends InMemorySIWxStorage {
  #nonces = new Set();
  hasUsedNonce(nonce) {
    return this.#nonces.has(nonce);
  }
  recordNonce(nonce) {
    this.#nonces.add(nonce);
  }
}

/** The routes of a V2 server; `:ns` is the test's own namespace. */
function v2Routes(payToAddress) {
  const exact = (amount, extra = {}) => ({
    scheme: "exact",
    network: NETWORK,
    payTo: payToAddress,
    price: { amount, asset: chain.token, extra: { name: "USDC", version: "2" } },
    ...extra,
  });
  return {
    // sign-in-with-x offered: pay once, then reuse
    "GET /api/:ns/weather": { accepts: exact(PRICES.weather), description: "Weather", mimeType: "application/json", extensions: declareSIWxExtension({}) },
    // no sign-in-with-x: every call is paid
    "GET /api/:ns/quote": { accepts: exact(PRICES.quote), description: "Quote (pay per call)", mimeType: "application/json" },
    // another price, with sign-in-with-x
    "GET /api/:ns/premium": { accepts: exact(PRICES.premium), description: "Premium", mimeType: "application/json", extensions: declareSIWxExtension({}) },
    // POST with a body, sign-in-with-x
    "POST /api/:ns/echo": { accepts: exact(PRICES.echo), description: "Echo", mimeType: "application/json", extensions: declareSIWxExtension({ statement: "Sign in to reuse the echo you paid for" }) },
    // paid per path: each /items/<id> is its own purchase
    "GET /api/:ns/items/:id": { accepts: exact(PRICES.item), description: "Item", mimeType: "application/json", extensions: declareSIWxExtension({}) },
    // sign-in only: no payment option (accepts: [])
    "GET /api/:ns/profile": { accepts: [], description: "Profile (sign-in only)", mimeType: "application/json", extensions: declareSIWxExtension({ network: NETWORK }) },
    // paid, but the handler fails (500): the official middleware then cancels the settlement and charges nothing
    "GET /api/:ns/broken": { accepts: exact(PRICES.weather), description: "Broken handler", mimeType: "application/json" },
    // priced only on a network the gateway does not allow
    "GET /api/:ns/mainnet": { accepts: { scheme: "exact", network: BASE_MAINNET, payTo: payToAddress, price: { amount: PRICES.other, asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", extra: { name: "USD Coin", version: "2" } } }, description: "Base mainnet only" },
    // priced only in an asset the gateway does not allow (a real token on this chain, held by the payers)
    "GET /api/:ns/other-asset": { accepts: { scheme: "exact", network: NETWORK, payTo: payToAddress, price: { amount: PRICES.other, asset: otherToken, extra: { name: "Other USD", version: "1" } } }, description: "Other asset only" },
  };
}

async function startV2Server(name, { facilitatorEndpoint, storage }) {
  const app = express();
  const server = http.createServer(app);
  await listenOn(server, 0);
  const serverOrigin = origin(server);
  const serverStats = stats[name];
  const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitatorEndpoint, timeoutMs: 10000 }))
    .register(NETWORK, new ExactEvmServerScheme())
    .register(BASE_MAINNET, new ExactEvmServerScheme())
    .registerExtension(
      createSIWxResourceServerExtension({
        origin: serverOrigin,
        storage,
        onEvent: (event) => serverStats.siwx.push(event),
      }),
    )
    .onAfterSettle(async ({ paymentPayload, requirements, result }) => {
      serverStats.settlements.push({
        resource: paymentPayload?.resource?.url ?? null,
        payer: result.payer ?? null,
        transaction: result.transaction ?? null,
        amount: requirements.amount,
        asset: requirements.asset,
        network: requirements.network,
        success: result.success,
      });
    })
    .onSettleFailure(async ({ paymentPayload, error }) => {
      serverStats.settleFailures.push({ resource: paymentPayload?.resource?.url ?? null, error: message(error) });
    });

  app.use((req, _res, next) => {
    serverStats.requests++;
    next();
  });
  const paywall = paymentMiddleware(v2Routes(payTo[name]), resourceServer);
  app.use((req, res, next) => {
    if (!(req.get("PAYMENT-SIGNATURE") ?? req.get("X-PAYMENT"))) return paywall(req, res, next);
    const entry = { path: req.path, done: false };
    serverStats.paidRequests.push(entry);
    // the official middleware's promise settles after verify → handler → settle → response, even when the client is gone
    return Promise.resolve(paywall(req, res, next)).finally(() => {
      entry.done = true;
    });
  });
  app.use(express.text({ type: "*/*", limit: "1mb" }));
  // A route the paywall does not know: answers 402 with an unreadable challenge.
  app.all("/garbage/{*rest}", (_req, res) => {
    res.status(402).set("PAYMENT-REQUIRED", "this is %% not base64 json").type("text/plain").send("pay me, somehow");
  });
  app.all("/{*rest}", (req, res) => serve(serverStats, req, res, { path: req.path, method: req.method, body: typeof req.body === "string" ? req.body : "" }));
  return { server, origin: serverOrigin };
}

/** The handler behind the paywall: counts the request (with the final status once sent) and answers JSON. */
function serve(serverStats, req, res, payload) {
  const entry = {
    path: req.path,
    method: req.method,
    paid: Boolean(req.get("PAYMENT-SIGNATURE") ?? req.get("X-PAYMENT")),
    signedIn: Boolean(req.get("SIGN-IN-WITH-X")),
    status: null,
  };
  serverStats.served.push(entry);
  res.on("finish", () => {
    entry.status = res.statusCode;
  });
  if (req.path.endsWith("/broken")) {
    res.status(500).json({ error: "the handler failed" });
    return;
  }
  res.json({ ok: true, server: "x402-stack", ...payload });
}

const main = await startV2Server("main", { facilitatorEndpoint: facilitatorUrl, storage: new InMemorySIWxStorage() });
const strict = await startV2Server("strict", { facilitatorEndpoint: switchableUrl, storage: new SingleUseNonceStorage() });

// --- V1 server ---------------------------------------------------------------------------------------------------------------
const v1App = express();
const v1Server = http.createServer(v1App);
await listenOn(v1Server, 0);
const v1Origin = origin(v1Server);
const v1Facilitator = new HTTPFacilitatorClient({ url: facilitatorUrl, timeoutMs: 10000 });
v1App.use((_req, _res, next) => {
  stats.v1.requests++;
  next();
});
v1App.get("/v1/:ns/weather", async (req, res) => {
  const requirements = {
    scheme: "exact",
    network: V1_NETWORK,
    maxAmountRequired: PRICES.v1,
    resource: v1Origin + req.path,
    description: "Weather (x402 V1)",
    mimeType: "application/json",
    payTo: payTo.v1,
    maxTimeoutSeconds: 300,
    asset: chain.token,
    extra: { name: "USDC", version: "2" },
  };
  const refuse = (error, payer) => res.status(402).json({ x402Version: 1, error, accepts: [requirements], ...(payer ? { payer } : {}) });
  const header = req.get("X-PAYMENT");
  if (!header) return refuse("X-PAYMENT header is required");
  let payload;
  try {
    payload = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  } catch {
    return refuse("invalid_payload");
  }
  if (payload?.x402Version !== 1 || payload.scheme !== "exact" || payload.network !== V1_NETWORK) {
    return refuse("invalid_payment_requirements");
  }
  let verified;
  try {
    verified = await v1Facilitator.verify(payload, requirements);
  } catch (error) {
    return refuse(message(error));
  }
  if (!verified.isValid) return refuse(verified.invalidReason ?? "invalid_payment", verified.payer);
  let settled;
  try {
    settled = await v1Facilitator.settle(payload, requirements);
  } catch (error) {
    stats.v1.settleFailures.push({ resource: requirements.resource, error: message(error) });
    return refuse(message(error));
  }
  if (!settled.success) {
    stats.v1.settleFailures.push({ resource: requirements.resource, error: settled.errorReason ?? "settlement failed" });
    return refuse(settled.errorReason ?? "settlement failed", settled.payer);
  }
  stats.v1.settlements.push({
    resource: requirements.resource,
    payer: settled.payer ?? null,
    transaction: settled.transaction,
    amount: requirements.maxAmountRequired,
    asset: requirements.asset,
    network: requirements.network,
    success: true,
  });
  res.set(
    "X-PAYMENT-RESPONSE",
    Buffer.from(JSON.stringify({ success: true, transaction: settled.transaction, network: settled.network ?? V1_NETWORK, payer: settled.payer })).toString("base64"),
  );
  res.set("Access-Control-Expose-Headers", "X-PAYMENT-RESPONSE");
  serve(stats.v1, req, res, { path: req.path, method: req.method, body: "" });
});

// --- control -----------------------------------------------------------------------------------------------------------------
const control = express();
control.get("/stats", (_req, res) => res.json(stats));
control.post("/facilitator/switchable/down", async (_req, res) => {
  if (switchableServer) {
    switchableServer.closeAllConnections();
    await new Promise((resolve) => switchableServer.close(resolve));
    switchableServer = null;
  }
  res.json({ up: false });
});
control.post("/facilitator/switchable/up", async (_req, res) => {
  if (!switchableServer) switchableServer = await listen(facilitatorApp, switchablePort);
  res.json({ up: true });
});
const controlServer = await listen(control);

// --- ready -------------------------------------------------------------------------------------------------------------------
const servers = [facilitatorServer, main.server, strict.server, v1Server, controlServer];
process.stdout.write(
  JSON.stringify({
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    network: NETWORK,
    v1Network: V1_NETWORK,
    token: chain.token,
    otherToken,
    decimals: 6,
    facilitatorUrl,
    switchableFacilitatorUrl: switchableUrl,
    servers: { main: main.origin, strict: strict.origin, v1: v1Origin },
    controlUrl: origin(controlServer),
    payTo,
    facilitatorAddress: chain.operator.address,
    wallets: { funded, unfunded },
    prices: PRICES,
  }) + "\n",
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  for (const s of [...servers, switchableServer]) {
    if (!s) continue;
    s.closeAllConnections();
    s.close();
  }
  await chain.close().catch(() => {});
  process.exit(0);
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// --- helpers -----------------------------------------------------------------------------------------------------------------
function message(error) {
  return error instanceof Error ? error.message : String(error);
}

function origin(server) {
  return `http://127.0.0.1:${server.address().port}`;
}

async function listen(app, port = 0) {
  const server = http.createServer(app);
  await listenOn(server, port);
  return server;
}

function listenOn(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Reads the first line of stdin as JSON config (empty line or "{}" = defaults) without consuming the rest. */
function readConfigLine() {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk) => {
      buffered += chunk.toString("utf8");
      const newline = buffered.indexOf("\n");
      if (newline < 0) return;
      process.stdin.off("data", onData);
      process.stdin.off("end", onEnd);
      process.stdin.pause();
      const line = buffered.slice(0, newline).trim();
      try {
        resolve(line === "" ? {} : JSON.parse(line));
      } catch (error) {
        reject(error);
      }
    };
    const onEnd = () => reject(new Error("stdin closed before the config line"));
    process.stdin.on("data", onData);
    process.stdin.on("end", onEnd);
  });
}
