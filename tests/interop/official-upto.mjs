// official-upto.mjs — the OFFICIAL x402 `upto` client's PAYMENT-SIGNATURE for a 402, made deterministic,
// and the OFFICIAL upto server/facilitator verdict on a PAYMENT-SIGNATURE.
//
// stdin (pay):    { "op": "pay", "privateKey": "0x…", "paymentRequiredHeader": "<base64 PAYMENT-REQUIRED>",
//                   "nowMs"?: n,              // Date.now() while the client runs (the deadline's clock)
//                   "nonce"?: "<decimal>",    // the Permit2 nonce: crypto.getRandomValues yields its 32 bytes
//                   "chain"?: { "allowance": "<decimal>" | null, "permitNonce": "<decimal>" } }
//                   // chain: the signer's readContract — allowance(owner, Permit2) (null = the read fails)
//                   // and the token's EIP-2612 nonces(owner); without it the signer has no readContract
// stdout (pay):   { "paymentSignatureHeader": "<base64>", "payload": <decoded, key order kept>, "reads": ["allowance", …] }
//
// stdin (verify): { "op": "verify", "paymentSignatureHeader": "<base64>", "paymentRequiredHeader": "<base64>", "nowMs"?: n }
// stdout (verify): { "matched", "extensionsValid", "verifyResponse", "valid", "permit": null | { "signatureValid",
//                    "recovered", "amountMatches" }, "errors": ["…"] }
//
// Official path (pay): x402Client.register("eip155:*", new UptoEvmScheme(signer)) from @x402/evm/upto/client,
// spend controls off, x402HTTPClient.getPaymentRequiredResponse / createPaymentPayload /
// encodePaymentSignatureHeader. The client picks the first `upto` entry of accepts.
// Official path (verify): decodePaymentSignatureHeader / decodePaymentRequiredHeader; x402ResourceServer with
// @x402/evm/upto/server UptoEvmScheme: findMatchingRequirements + validateExtensions; x402Facilitator.verify with
// @x402/evm/upto/facilitator UptoEvmScheme on the offline chain view (lib.mjs) whose addresses are the
// requirements' extra.facilitatorAddress and whose "settle"/"settleWithPermit" simulations succeed: scheme,
// network, spender = upto proxy, witness.to = payTo, witness.facilitator = ours, deadline >= now + 6,
// validAfter <= now, permitted.amount == amount, token == asset, Permit2 EIP-712 signature (ECDSA, payer as
// an EOA), and the eip2612GasSponsoring info's format/from/asset/spender/deadline. NOT covered (needs a chain):
// allowance, balance, Permit2 nonce, the EIP-2612 permit's on-chain check — so `permit` re-checks that
// signature with viem (token domain from extra name/version) and that its value equals permitted.amount.

import { x402Client, x402HTTPClient } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import { decodePaymentRequiredHeader, decodePaymentSignatureHeader } from "@x402/core/http";
import { x402ResourceServer } from "@x402/core/server";
import { PERMIT2_ADDRESS } from "@x402/evm";
import { UptoEvmScheme as UptoClientScheme } from "@x402/evm/upto/client";
import { UptoEvmScheme as UptoFacilitatorScheme } from "@x402/evm/upto/facilitator";
import { UptoEvmScheme as UptoServerScheme } from "@x402/evm/upto/server";
import { getAddress, recoverTypedDataAddress, toBytes, numberToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createOfflineChainView, errorMessage, officialVerdict, run, unique } from "./lib.mjs";

const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

function freezeClock(nowMs) {
  if (nowMs !== undefined) Date.now = () => nowMs;
}

async function pay({ privateKey, paymentRequiredHeader, nowMs, nonce, chain }) {
  freezeClock(nowMs);
  if (nonce !== undefined) {
    const bytes = toBytes(numberToHex(BigInt(nonce), { size: 32 }));
    const original = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
    globalThis.crypto.getRandomValues = (array) => {
      if (!(array instanceof Uint8Array) || array.length !== 32) return original(array);
      array.set(bytes);
      return array;
    };
  }

  const account = privateKeyToAccount(privateKey);
  const reads = [];
  const signer = { address: account.address, signTypedData: (message) => account.signTypedData(message) };
  if (chain) {
    signer.readContract = async ({ functionName }) => {
      reads.push(functionName);
      if (functionName === "allowance") {
        if (chain.allowance === null || chain.allowance === undefined) throw new Error("allowance read fails");
        return BigInt(chain.allowance);
      }
      if (functionName === "nonces") return BigInt(chain.permitNonce);
      throw new Error(`unexpected read ${functionName}`);
    };
  }

  const client = new x402Client();
  client.register("eip155:*", new UptoClientScheme(signer));
  client.setSpendControls(false);
  const httpClient = new x402HTTPClient(client);
  const paymentRequired = httpClient.getPaymentRequiredResponse((name) =>
    name.toUpperCase() === "PAYMENT-REQUIRED" ? paymentRequiredHeader : null,
  );
  const payload = await httpClient.createPaymentPayload(paymentRequired);
  const paymentSignatureHeader = httpClient.encodePaymentSignatureHeader(payload)["PAYMENT-SIGNATURE"];
  return {
    paymentSignatureHeader,
    payload: JSON.parse(Buffer.from(paymentSignatureHeader, "base64").toString("utf8")),
    reads,
  };
}

async function verify({ paymentSignatureHeader, paymentRequiredHeader, nowMs }) {
  freezeClock(nowMs);
  const out = { matched: false, extensionsValid: false, verifyResponse: null, valid: false, permit: null, errors: [] };
  let payload;
  try {
    payload = decodePaymentSignatureHeader(paymentSignatureHeader);
  } catch (error) {
    out.errors.push(`decode PAYMENT-SIGNATURE: ${errorMessage(error)}`);
    return out;
  }
  const paymentRequired = decodePaymentRequiredHeader(paymentRequiredHeader);
  const accepts = paymentRequired.accepts ?? [];
  const chainView = createOfflineChainView({
    contracts: accepts.map((a) => a.asset).filter(Boolean),
    addresses: unique(accepts.map((a) => a.extra?.facilitatorAddress).filter(Boolean)).map((a) => getAddress(a)),
    simulations: ["settle", "settleWithPermit"],
  });
  const networks = unique(accepts.map((a) => a.network));
  const facilitator = new x402Facilitator().register(networks.length ? networks : ["eip155:*"], new UptoFacilitatorScheme(chainView));
  const server = new x402ResourceServer(facilitator).register("eip155:*", new UptoServerScheme());

  const requirement = await officialVerdict({ server, facilitator, paymentRequired, payload, out });

  const info = payload.extensions?.eip2612GasSponsoring?.info;
  const req = requirement ?? payload.accepted;
  if (info?.signature && req) {
    try {
      const recovered = await recoverTypedDataAddress({
        domain: {
          name: req.extra?.name,
          version: req.extra?.version,
          chainId: Number(String(req.network).split(":")[1]),
          verifyingContract: getAddress(req.asset),
        },
        types: permitTypes,
        primaryType: "Permit",
        message: {
          owner: getAddress(info.from),
          spender: getAddress(PERMIT2_ADDRESS),
          value: BigInt(info.amount),
          nonce: BigInt(info.nonce),
          deadline: BigInt(info.deadline),
        },
        signature: info.signature,
      });
      out.permit = {
        recovered,
        signatureValid: recovered === getAddress(payload.payload.permit2Authorization.from),
        amountMatches: info.amount === payload.payload.permit2Authorization.permitted.amount,
      };
    } catch (error) {
      out.errors.push(`permit check: ${errorMessage(error)}`);
    }
  }

  return out;
}

run((input) => (input.op === "verify" ? verify(input) : pay(input)));
