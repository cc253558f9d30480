// upto-chain.mjs — a local chain for the x402 `upto` scheme (and later batch-settlement): anvil (from the npm package
// @foundry-rs/anvil-linux-amd64, no fork, nothing fetched) on 127.0.0.1, Uniswap's Permit2 at its canonical address, OUR OWN
// upto proxy (contracts/UptoPermit2Proxy.sol) at the canonical x402UptoPermit2Proxy address, our TestUsdc token (EIP-3009 +
// EIP-2612), Multicall3Lite at the canonical Multicall3 address, and the OFFICIAL @x402/evm upto facilitator on it.
//
// As a module: `startUptoChain()` (below). As a script (for the C# end-to-end tests), long-running like x402-stack.mjs:
//   stdin:  one JSON line {chainId?, fundedWallets? = 3, unapprovedWallets? = 1, fundAmount?, idleTimeoutSeconds? = 300}, then
//           kept open; everything stops when stdin closes (or SIGTERM)
//   stdout: one JSON line when ready: {rpcUrl, chainId, network, token, decimals, permit2, proxy, multicall3, facilitatorUrl,
//           facilitatorAddress, controlUrl, servers:{upto}, payTo:{upto}, prices:{maximum, charge}, wallets:{funded:[{address,
//           privateKey}], unapproved:[…], unfunded}}; funded wallets hold `fundAmount` (default 10 tokens) and 1 ETH and have
//           approved Permit2 once; unapproved wallets hold `fundAmount`, no ETH and no Permit2 allowance; the facilitator
//           (POST /verify, POST /settle, GET /supported) pays the gas; `servers.upto` is the OFFICIAL upto resource server
//           (startUptoServer below) and GET controlUrl/stats what it and the facilitator observed.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import { x402Facilitator } from "@x402/core/facilitator";
import { HTTPFacilitatorClient } from "@x402/core/http";
import { x402ResourceServer } from "@x402/core/server";
import { paymentMiddleware, setSettlementOverrides } from "@x402/express";
import { declareEip2612GasSponsoringExtension } from "@x402/extensions";
import { PERMIT2_ADDRESS, toFacilitatorEvmSigner, x402UptoPermit2ProxyAddress } from "@x402/evm";
import { UptoEvmScheme as UptoFacilitatorScheme } from "@x402/evm/upto/facilitator";
import { UptoEvmScheme as UptoServerScheme } from "@x402/evm/upto/server";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  http,
  keccak256,
  maxUint256,
  numberToHex,
  parseEther,
  publicActions,
  toHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { MULTICALL3_ADDRESS, compileContracts } from "./chain.mjs";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The anvil binary shipped inside the npm package (linux x64). */
export const ANVIL = join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
export const PERMIT2 = getAddress(PERMIT2_ADDRESS);
export const UPTO_PROXY = getAddress(x402UptoPermit2ProxyAddress);

/** The Permit2 functions the tests read (nonce bitmap, domain separator). */
export const permit2Abi = [
  {
    type: "function", name: "nonceBitmap", stateMutability: "view",
    inputs: [{ name: "owner", type: "address" }, { name: "wordPos", type: "uint256" }], outputs: [{ type: "uint256" }],
  },
  { type: "function", name: "DOMAIN_SEPARATOR", stateMutability: "view", inputs: [], outputs: [{ type: "bytes32" }] },
];

/** Whether Permit2 marks `nonce` of `owner` used (its unordered nonce bitmap: word nonce >> 8, bit nonce & 255). */
export async function isPermit2NonceUsed(publicClient, owner, nonce) {
  const n = BigInt(nonce);
  const word = await publicClient.readContract({ address: PERMIT2, abi: permit2Abi, functionName: "nonceBitmap", args: [getAddress(owner), n >> 8n] });
  return ((word >> (n & 255n)) & 1n) === 1n;
}

/**
 * Compiles Permit2 from the npm package @uniswap/v4-periphery (lib/permit2, pragma 0.8.17) with solc-js 0.8.17 and Permit2's
 * own settings (via IR, 1 000 000 optimizer runs, no metadata hash). solc-js needs ~15 s, so the output is cached under
 * node_modules/.cache, keyed by the compiler version and the whole input.
 */
export function compilePermit2() {
  const solc = require("solc-0.8.17");
  const root = join(dirname(require.resolve("@uniswap/v4-periphery/package.json")), "lib", "permit2");
  const read = (path) => readFileSync(path.startsWith("solmate/") ? join(root, "lib", path) : join(root, path), "utf8");
  const sources = {};
  const pending = ["src/Permit2.sol"];
  while (pending.length > 0) {
    const unit = pending.pop();
    if (sources[unit]) continue;
    const content = read(unit);
    sources[unit] = { content };
    for (const [, imported] of content.matchAll(/^import\s+[^"]*"([^"]+)";/gm)) {
      const name = imported.startsWith(".") ? join(dirname(unit), imported) : imported;
      pending.push(name);
    }
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      viaIR: true,
      optimizer: { enabled: true, runs: 1_000_000 },
      metadata: { bytecodeHash: "none" },
      outputSelection: { "src/Permit2.sol": { Permit2: ["abi", "evm.bytecode.object", "evm.deployedBytecode.immutableReferences"] } },
    },
  };
  const inputJson = JSON.stringify(input);
  const key = createHash("sha256").update(solc.version()).update(inputJson).digest("hex").slice(0, 16);
  const cacheFile = join(here, "node_modules", ".cache", "x402orleans", `permit2-${key}.json`);
  try {
    return JSON.parse(readFileSync(cacheFile, "utf8"));
  } catch {
    // not compiled yet
  }
  const output = JSON.parse(solc.compile(inputJson));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error("solc 0.8.17: " + errors.map((e) => e.formattedMessage).join("\n"));
  const c = output.contracts["src/Permit2.sol"].Permit2;
  const compiled = {
    abi: c.abi,
    bytecode: "0x" + c.evm.bytecode.object,
    immutableReferences: c.evm.deployedBytecode.immutableReferences,
  };
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(compiled));
  return compiled;
}

/** Starts anvil on 127.0.0.1 (a free port chosen by anvil), no fork, no dev accounts; resolves when it listens. */
function startAnvil(chainId) {
  const child = spawn(ANVIL, ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(chainId), "--accounts", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error("anvil did not listen within 30 s: " + out.slice(-500))), 30_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    child.stderr.on("data", (d) => (out += d));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners("data");
        child.stdout.resume();
        resolve({
          child,
          port: Number(m[1]),
          stop: async () => {
            process.removeListener("exit", killOnExit);
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    child.once("exit", (code) => fail(new Error(`anvil exited with ${code}: ${out.slice(-500)}`)));
    child.once("error", fail);
  });
}

/**
 * Starts the upto chain. Returns handles: { chainId, network, rpcUrl, chain, transport, publicClient, testClient request,
 * operator (the facilitator's account, pays gas), facilitatorSigner, facilitator (official x402Facilitator with the upto
 * scheme), token, tokenAbi, proxyAbi, permit2, proxy, mint, balanceOf, newPayer, close }.
 */
export async function startUptoChain({ chainId = 84532, tokenName = "USDC", tokenVersion = "2", tokenSymbol = "USDC" } = {}) {
  const contracts = compileContracts(["TestUsdc.sol", "Multicall3Lite.sol", "UptoPermit2Proxy.sol"]);
  const permit2 = compilePermit2();
  const anvil = await startAnvil(chainId);
  try {
    const rpcUrl = `http://127.0.0.1:${anvil.port}`;
    const chain = defineChain({
      id: chainId,
      name: `anvil-${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const transport = http(rpcUrl, { retryCount: 0 });
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
    const request = (method, params) => publicClient.request({ method, params });
    const setBalance = (address, wei) => request("anvil_setBalance", [getAddress(address), numberToHex(wei)]);

    const operatorKey = generatePrivateKey();
    const operator = privateKeyToAccount(operatorKey);
    await setBalance(operator.address, parseEther("1000"));
    const operatorClient = createWalletClient({ account: operator, chain, transport, pollingInterval: 50 });
    const confirm = async (hash) => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
      return receipt;
    };
    const deploy = async ({ abi, bytecode }, args = []) =>
      getAddress((await confirm(await operatorClient.deployContract({ abi, bytecode, args }))).contractAddress);

    // Permit2 caches its EIP-712 domain separator (and the chain id it was built for) in immutables at construction; a copy of
    // code deployed elsewhere would sign for the wrong verifyingContract. Deploy it normally, take its runtime code, and
    // rewrite the immutables for the canonical address before placing it there.
    const deployedPermit2 = await deploy(permit2);
    const runtime = Buffer.from((await publicClient.getCode({ address: deployedPermit2 })).slice(2), "hex");
    const chainIdWord = Buffer.from(numberToHex(BigInt(chainId), { size: 32 }).slice(2), "hex");
    const canonicalSeparator = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
        [keccak256(toHex("EIP712Domain(string name,uint256 chainId,address verifyingContract)")), keccak256(toHex("Permit2")), BigInt(chainId), PERMIT2],
      ),
    );
    let filled = 0;
    for (const refs of Object.values(permit2.immutableReferences)) {
      const first = runtime.subarray(refs[0].start, refs[0].start + 32);
      if (first.equals(chainIdWord)) continue; // _CACHED_CHAIN_ID: already right
      for (const { start, length } of refs) Buffer.from(canonicalSeparator.slice(2), "hex").copy(runtime, start, 0, length);
      filled++;
    }
    if (filled !== 1) throw new Error(`Permit2: expected one domain-separator immutable, found ${filled}`);
    await request("anvil_setCode", [PERMIT2, "0x" + runtime.toString("hex")]);
    const separator = await publicClient.readContract({ address: PERMIT2, abi: permit2Abi, functionName: "DOMAIN_SEPARATOR" });
    if (separator !== canonicalSeparator) throw new Error("Permit2 at the canonical address has the wrong domain separator");

    await request("anvil_setCode", [UPTO_PROXY, contracts.UptoPermit2Proxy.deployedBytecode]);
    await request("anvil_setCode", [MULTICALL3_ADDRESS, contracts.Multicall3Lite.deployedBytecode]);
    const token = await deploy(contracts.TestUsdc, [tokenName, tokenVersion, tokenSymbol]);
    const tokenAbi = contracts.TestUsdc.abi;

    const facilitatorSigner = toFacilitatorEvmSigner({
      ...createWalletClient({ account: operator, chain, transport, pollingInterval: 50 }).extend(publicActions),
      address: operator.address,
    });
    const network = `eip155:${chainId}`;
    const facilitator = new x402Facilitator().register(network, new UptoFacilitatorScheme(facilitatorSigner));

    const mint = async (to, amount) =>
      confirm(
        await operatorClient.sendTransaction({
          to: token,
          data: encodeFunctionData({ abi: tokenAbi, functionName: "mint", args: [getAddress(to), BigInt(amount)] }),
        }),
      );

    return {
      chainId,
      network,
      rpcUrl,
      chain,
      transport,
      publicClient,
      request,
      operatorKey,
      operator,
      operatorClient,
      facilitatorSigner,
      facilitator,
      token,
      tokenAbi,
      proxyAbi: contracts.UptoPermit2Proxy.abi,
      permit2: PERMIT2,
      proxy: UPTO_PROXY,
      multicall3: MULTICALL3_ADDRESS,
      mint,
      setBalance,
      /** Token balance (atomic units, bigint). */
      balanceOf: (owner) => publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [getAddress(owner)] }),
      /**
       * A new payer: a fresh key holding `tokens` atomic units and `eth` wei; with `approvePermit2` it approves Permit2 for the
       * token once (max allowance, the payer's own transaction).
       */
      async newPayer({ tokens = 10_000_000n, eth = parseEther("1"), approvePermit2 = true } = {}) {
        const privateKey = generatePrivateKey();
        const account = privateKeyToAccount(privateKey);
        if (eth > 0n) await setBalance(account.address, eth);
        if (tokens > 0n) await mint(account.address, tokens);
        if (approvePermit2) {
          const wallet = createWalletClient({ account, chain, transport });
          await confirm(await wallet.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [PERMIT2, maxUint256] }));
        }
        return { address: account.address, privateKey, account };
      },
      close: () => anvil.stop(),
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

// --- as a script: the chain, the official upto facilitator over HTTP and an official upto resource server, until stdin closes ----

/** Atomic amounts of the script's upto routes (6 decimals): every route authorises MAXIMUM; "metered" charges CHARGE. */
export const UPTO_PRICES = { maximum: "50000", charge: "12345" };

/** A route's `accepts` of `amount` (atomic) of our token (EIP-712 "USDC"/"2") to `payTo` in `scheme`, given its maxTimeoutSeconds. */
export const tokenAccepts = ({ scheme, network, token, payTo, amount }) => (maxTimeoutSeconds = 300) => ({
  scheme,
  network,
  payTo,
  price: { amount, asset: token, extra: { name: "USDC", version: "2" } },
  maxTimeoutSeconds,
});

/** An `onSettleFailure` hook that records each failure in `list`. */
export const recordSettleFailures = (list) => async ({ paymentPayload, error }) => {
  list.push({ resource: paymentPayload?.resource?.url ?? null, error: error instanceof Error ? error.message : String(error) });
};

/**
 * Wraps an official paywall middleware: each request carrying a payment header gets an entry `{path, done}` in `list` (which
 * `describe(req, res, entry)` may add to), `done` once the paywall finished with it — the middleware's promise settles after
 * verify → handler → settle → response, also when the client is gone.
 */
export const trackPaidRequests = (paywall, list, describe = () => {}) => (req, res, next) => {
  if (!req.get("PAYMENT-SIGNATURE")) return paywall(req, res, next);
  const entry = { path: req.path, done: false };
  list.push(entry);
  describe(req, res, entry);
  return Promise.resolve(paywall(req, res, next)).finally(() => {
    entry.done = true;
  });
};

/** Records a request that reached a route handler in `list` ({path, paid, status}), the status once the response finished. */
export function recordServed(list, req, res) {
  const entry = { path: req.path, paid: Boolean(req.get("PAYMENT-SIGNATURE")), status: null };
  list.push(entry);
  res.on("finish", () => {
    entry.status = res.statusCode;
  });
}

/**
 * The official resource server for the C# end-to-end tests: Express 5 + @x402/express `paymentMiddleware` + `x402ResourceServer`
 * (HTTPFacilitatorClient on `facilitatorUrl`) + @x402/evm/upto/server `UptoEvmScheme`. Every route authorises UPTO_PRICES.maximum
 * of the token to `payTo`; the handlers choose the charge after the work with `setSettlementOverrides(res, {amount})`. `:ns` is a
 * test's own namespace. Returns { server, origin, stats } (stats: served, settlements, settleFailures, paidRequests, siwx: []).
 */
export async function startUptoServer({ network, token, payTo, facilitatorUrl, idleTimeoutSeconds = 300 }) {
  const stats = { served: [], settlements: [], settleFailures: [], paidRequests: [], siwx: [] };
  const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitatorUrl, timeoutMs: 10000 }))
    .register(network, new UptoServerScheme())
    .onAfterSettle(async ({ paymentPayload, result }) => {
      stats.settlements.push({
        resource: paymentPayload?.resource?.url ?? null,
        payer: result.payer ?? null,
        transaction: result.transaction ?? null,
        amount: result.amount ?? null,
        maximum: paymentPayload?.accepted?.amount ?? null, // `requirements.amount` here is already the charge
        success: result.success,
      });
    })
    .onSettleFailure(recordSettleFailures(stats.settleFailures));
  const upto = tokenAccepts({ scheme: "upto", network, token, payTo, amount: UPTO_PRICES.maximum });
  const routes = {
    // charges UPTO_PRICES.charge of the maximum
    "GET /api/:ns/metered": { accepts: upto(), description: "Metered (upto)", mimeType: "application/json" },
    // charges 0: no transaction; the signed permit stays spendable until its deadline (idleTimeoutSeconds)
    "GET /api/:ns/idle": { accepts: upto(idleTimeoutSeconds), description: "Metered, nothing used (upto, charge 0)", mimeType: "application/json" },
    // as "metered", and declares eip2612GasSponsoring: a payer without Permit2 allowance signs an EIP-2612 permit instead
    "GET /api/:ns/sponsored": { accepts: upto(), description: "Metered, gas-sponsored approval", mimeType: "application/json", extensions: declareEip2612GasSponsoringExtension() },
  };
  const paywall = paymentMiddleware(routes, resourceServer);
  const app = express();
  app.use(trackPaidRequests(paywall, stats.paidRequests));
  app.get("/api/:ns/:route", (req, res) => {
    recordServed(stats.served, req, res);
    const charge = req.params.route === "idle" ? "0" : UPTO_PRICES.charge;
    setSettlementOverrides(res, { amount: charge });
    res.json({ ok: true, server: "upto-chain", path: req.path, charged_atomic: charge });
  });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { server, origin: `http://127.0.0.1:${server.address().port}`, stats };
}

/**
 * Serves an official `x402Facilitator` over HTTP on 127.0.0.1 (GET /supported, POST /verify, POST /settle, as
 * HTTPFacilitatorClient calls them). Returns { server, url, app, stats: {verify, settle} } (what it answered).
 */
export async function serveFacilitator(facilitator) {
  const stats = { verify: [], settle: [] };
  const app = express();
  app.use(express.json({ limit: "1mb" }));
  app.get("/supported", (_req, res) => res.json(facilitator.getSupported()));
  for (const op of ["verify", "settle"]) {
    app.post(`/${op}`, async (req, res) => {
      const { paymentPayload, paymentRequirements } = req.body ?? {};
      try {
        const result = await facilitator[op](paymentPayload, paymentRequirements);
        stats[op].push(op === "verify"
          ? { isValid: result.isValid, invalidReason: result.invalidReason ?? null }
          : { success: result.success, errorReason: result.errorReason ?? null, transaction: result.transaction ?? null, amount: result.amount ?? null });
        res.json(result);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        stats[op].push({ error: message });
        res.status(500).json({ error: message });
      }
    });
  }
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { server, url: `http://127.0.0.1:${server.address().port}`, app, stats };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await serveChainScript(startUptoChain, () => ({}));
}

/**
 * The script mode shared by the chain helpers (upto-chain.mjs, batch-chain.mjs): reads the config line from stdin, starts the
 * chain with `start({chainId})`, funds `fundedWallets` payers, serves `up.facilitator` over HTTP (GET /supported, POST /verify,
 * POST /settle), starts the official upto server and `moreServers(up, {facilitatorUrl, app (the control app), config})` — each
 * `{name, server, origin, payTo, prices, stats: async () => object}`, listed under `servers`, `payTo`, `prices` and in /stats by
 * name — prints one ready line (the common fields plus `describe(up)`) and stops when stdin closes or on SIGTERM.
 */
export async function serveChainScript(start, describe, moreServers = async () => []) {
  console.log = (...args) => console.error(...args);
  console.info = (...args) => console.error(...args);
  let stdinEnded = false;
  process.stdin.once("end", () => (stdinEnded = true));
  const config = await readConfigLine();
  const up = await start({ chainId: config.chainId ?? 84532 });
  const fundAmount = BigInt(config.fundAmount ?? "10000000");
  const funded = [];
  for (let i = 0; i < (config.fundedWallets ?? 3); i++) {
    const { address, privateKey } = await up.newPayer({ tokens: fundAmount });
    funded.push({ address, privateKey });
  }
  const unapproved = [];
  for (let i = 0; i < (config.unapprovedWallets ?? 1); i++) {
    const { address, privateKey } = await up.newPayer({ tokens: fundAmount, eth: 0n, approvePermit2: false });
    unapproved.push({ address, privateKey });
  }
  const unfundedKey = generatePrivateKey();

  const { server, url: facilitatorUrl, stats: facilitatorStats, app } = await serveFacilitator(up.facilitator);
  const payTo = privateKeyToAccount(generatePrivateKey()).address;
  const upto = await startUptoServer({
    network: up.network, token: up.token, payTo, facilitatorUrl, idleTimeoutSeconds: config.idleTimeoutSeconds ?? 300,
  });
  const more = await moreServers(up, { facilitatorUrl, app, config });
  app.get("/stats", async (_req, res) => {
    const stats = { upto: upto.stats, facilitator: facilitatorStats };
    for (const m of more) stats[m.name] = await m.stats();
    res.json(stats);
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const s of [upto.server, ...more.map((m) => m.server), server]) {
      s.closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
    await up.close();
    process.exit(0);
  };
  if (stdinEnded) await stop();
  process.stdin.on("end", stop);
  process.stdin.resume();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdout.write(
    JSON.stringify({
      rpcUrl: up.rpcUrl,
      chainId: up.chainId,
      network: up.network,
      token: up.token,
      decimals: 6,
      permit2: up.permit2,
      proxy: up.proxy,
      multicall3: up.multicall3,
      facilitatorUrl,
      facilitatorAddress: up.operator.address,
      controlUrl: facilitatorUrl,
      servers: { upto: upto.origin, ...Object.fromEntries(more.map((m) => [m.name, m.origin])) },
      payTo: { upto: payTo, ...Object.fromEntries(more.map((m) => [m.name, m.payTo])) },
      prices: Object.assign({}, UPTO_PRICES, ...more.map((m) => m.prices)),
      wallets: { funded, unapproved, unfunded: { address: privateKeyToAccount(unfundedKey).address, privateKey: unfundedKey } },
      ...describe(up),
    }) + "\n",
  );
}

/** Reads the first line of stdin as JSON ({} when empty), leaving stdin open. */
function readConfigLine() {
  return new Promise((resolve) => {
    let buffered = "";
    const onData = (chunk) => {
      buffered += chunk;
      const nl = buffered.indexOf("\n");
      if (nl >= 0) done(buffered.slice(0, nl));
    };
    const onEnd = () => done(buffered);
    const done = (line) => {
      process.stdin.removeListener("data", onData);
      process.stdin.removeListener("end", onEnd);
      process.stdin.pause();
      resolve(line.trim() === "" ? {} : JSON.parse(line));
    };
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", onData);
    process.stdin.once("end", onEnd);
  });
}
