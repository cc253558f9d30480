// Self-test of x402-stack.mjs with the OFFICIAL client (@x402/fetch + @x402/evm exact client + @x402/extensions SIWX fetch
// wrapper): the stack must behave like the real thing for the official client before the C# end-to-end tests trust it.
// Run: cd tests/interop && node --test
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { x402Client } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import { wrapFetchWithSIWx } from "@x402/extensions/sign-in-with-x";
import { createPublicClient, erc20Abi, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const dir = fileURLToPath(new URL(".", import.meta.url));
let stack;
let info;
let chain;

before(async () => {
  stack = spawn("node", ["x402-stack.mjs"], { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
  stack.stdin.write("{}\n");
  info = await new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("x402-stack.mjs not ready within 90 s")), 90_000);
    stack.stdout.on("data", (chunk) => {
      buffered += chunk;
      if (buffered.includes("\n")) {
        clearTimeout(timer);
        resolve(JSON.parse(buffered.slice(0, buffered.indexOf("\n"))));
      }
    });
    stack.once("exit", (code) => reject(new Error(`x402-stack.mjs exited with ${code}`)));
  });
  chain = createPublicClient({ transport: http(info.rpcUrl) });
});

after(() => stack?.stdin.end());

const balance = (owner, token = info.token) => chain.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [owner] });
const stats = async () => (await fetch(info.controlUrl + "/stats")).json();
const officialFetch = (privateKey) => {
  const client = registerExactEvmScheme(new x402Client(), { signer: privateKeyToAccount(privateKey) });
  client.setSpendControls(false); // our local token is not one of the official default assets
  return wrapFetchWithPayment(fetch, client);
};

test("official client pays a V2 route on chain; sign-in-with-x then reuses it without settling", async () => {
  const wallet = info.wallets.funded[2];
  const url = `${info.servers.main}/api/selftest/weather`;
  const payerBefore = await balance(wallet.address);
  const payToBefore = await balance(info.payTo.main);

  const paid = await officialFetch(wallet.privateKey)(url);
  assert.equal(paid.status, 200);
  const receipt = JSON.parse(Buffer.from(paid.headers.get("payment-response"), "base64").toString("utf8"));
  assert.equal(receipt.success, true);
  assert.match(receipt.transaction, /^0x[0-9a-f]{64}$/);
  assert.equal(await balance(wallet.address), payerBefore - 1000n);
  assert.equal(await balance(info.payTo.main), payToBefore + 1000n);

  const reused = await wrapFetchWithSIWx(fetch, privateKeyToAccount(wallet.privateKey))(url);
  assert.equal(reused.status, 200);
  assert.equal(await balance(wallet.address), payerBefore - 1000n);
  const s = await stats();
  assert.equal(s.main.settlements.filter((e) => e.resource === url).length, 1);
  assert.equal(s.main.siwx.filter((e) => e.type === "access_granted" && e.resource === "/api/selftest/weather").length, 1);
});

test("official client pays the V1 server with X-PAYMENT through the V1 facilitator", async () => {
  const wallet = info.wallets.funded[2];
  const before = await balance(info.payTo.v1);
  const paid = await officialFetch(wallet.privateKey)(`${info.servers.v1}/v1/selftest/weather`);
  assert.equal(paid.status, 200);
  const receipt = JSON.parse(Buffer.from(paid.headers.get("x-payment-response"), "base64").toString("utf8"));
  assert.equal(receipt.success, true);
  assert.equal(await balance(info.payTo.v1), before + 4000n);
});

test("an unfunded wallet is refused by the facilitator with insufficient balance", async () => {
  const refused = await officialFetch(info.wallets.unfunded.privateKey)(`${info.servers.main}/api/selftest/quote`);
  assert.equal(refused.status, 402);
  const required = JSON.parse(Buffer.from(refused.headers.get("payment-required"), "base64").toString("utf8"));
  assert.equal(required.error, "invalid_exact_evm_insufficient_balance");
});
