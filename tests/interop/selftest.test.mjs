// Self-test of the interop scripts against each other (official code on both sides).
// Run: cd tests/interop && node --test
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { generatePrivateKey } from "viem/accounts";

const dir = fileURLToPath(new URL(".", import.meta.url));
const call = (script, input) =>
  JSON.parse(execFileSync("node", [script], { cwd: dir, input: JSON.stringify(input) }).toString());
const decode = (b64) => JSON.parse(Buffer.from(b64, "base64").toString("utf8"));

const privateKey = generatePrivateKey();
const payTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const served = call("official-402.mjs", {
  routes: [
    { path: "/api/weather", method: "GET", price: "$0.001", network: "eip155:84532", payTo, siwx: true },
    { path: "/api/plain", method: "GET", price: "$0.001", network: "eip155:84532", payTo, siwx: false },
  ],
});

test("official 402 carries PAYMENT-REQUIRED, with sign-in-with-x only on the SIWX route", () => {
  const [weather, plain] = served.responses;
  assert.equal(weather.status, 402);
  const required = decode(weather.headers["payment-required"]);
  assert.deepEqual(Object.keys(required), ["x402Version", "error", "resource", "accepts", "extensions"]);
  assert.deepEqual(required.accepts[0], {
    scheme: "exact",
    network: "eip155:84532",
    amount: "1000",
    asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    payTo,
    maxTimeoutSeconds: 300,
    extra: { name: "USDC", version: "2" },
  });
  assert.ok(required.extensions["sign-in-with-x"].info.nonce);
  assert.equal(decode(plain.headers["payment-required"]).extensions, undefined);
});

test("official client payment verifies with the official server/facilitator checks", () => {
  const paymentRequiredHeader = served.responses[0].headers["payment-required"];
  const paid = call("official-pay.mjs", { privateKey, paymentRequiredHeader });
  assert.deepEqual(Object.keys(paid.payload), ["x402Version", "payload", "extensions", "resource", "accepted"]);
  const verdict = call("verify-payment.mjs", { paymentSignatureHeader: paid.paymentSignatureHeader, paymentRequiredHeader });
  assert.deepEqual(verdict.errors, []);
  assert.equal(verdict.matched, true);
  assert.equal(verdict.signatureValid, true);
  assert.equal(verdict.valid, true);
  assert.equal(verdict.recovered, paid.payload.payload.authorization.from);

  const tampered = structuredClone(paid.payload);
  tampered.accepted.payTo = tampered.accepted.payTo.toLowerCase();
  const header = Buffer.from(JSON.stringify(tampered)).toString("base64");
  const refused = call("verify-payment.mjs", { paymentSignatureHeader: header, paymentRequiredHeader });
  assert.equal(refused.matched, false);
  assert.deepEqual(refused.errors, ["No matching payment requirements"]);
});

test("SIWX sign → verify round-trips, and is bound to the origin", () => {
  const extension = decode(served.responses[0].headers["payment-required"]).extensions["sign-in-with-x"];
  const signed = call("siwx.mjs", { op: "sign", privateKey, extension });
  assert.ok(signed.header);
  const origin = new URL(extension.info.uri).origin;
  const ok = call("siwx.mjs", { op: "verify", header: signed.header, expectedOrigin: origin });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.valid, true);
  assert.equal(ok.message, signed.message);
  const built = call("siwx.mjs", { op: "message", info: extension.info, address: signed.decoded.address, chainId: "eip155:84532" });
  assert.equal(built.message, signed.message);
  const wrongHost = call("siwx.mjs", { op: "verify", header: signed.header, expectedDomain: "localhost:1" });
  assert.equal(wrongHost.valid, false);
});
