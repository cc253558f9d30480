// Shared helpers for the interop scripts (official x402 packages, pinned in package.json).
//
// Contract of every script: one JSON object on stdin, exactly one JSON object (one line) on
// stdout, diagnostics on stderr. Exit 0 whenever a verdict was produced (even a negative one);
// non-zero only when the script itself crashed.

import { x402Facilitator } from "@x402/core/facilitator";
import { x402ResourceServer } from "@x402/core/server";
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from "@x402/evm/exact/facilitator";
import { ExactEvmScheme as ExactEvmServerScheme } from "@x402/evm/exact/server";
import { isAddressEqual, verifyTypedData } from "viem";

// Keep stdout for the single result object: anything the packages log goes to stderr.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

/** Reads all of stdin and parses it as JSON ({} when stdin is empty). */
export async function readJsonStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  return text === "" ? {} : JSON.parse(text);
}

/**
 * Runs `main(input)` and prints its result as one JSON line on stdout.
 * A thrown error is a crash: message on stderr, exit code 1.
 */
export function run(main) {
  readJsonStdin()
    .then(main)
    .then((result) => {
      process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
    })
    .catch((error) => {
      console.error(error?.stack ?? String(error));
      process.exit(1);
    });
}

/** Message of an unknown thrown value. */
export function errorMessage(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An OFFLINE stand-in for the facilitator's chain connection (the `FacilitatorEvmSigner` that
 * @x402/evm's facilitator scheme expects; normally `toFacilitatorEvmSigner(viem wallet+public client)`).
 * There is no chain here, so it answers the few chain reads the official off-chain checks make:
 *  - getCode: "0x" (an EOA, no code) for every address except the `contracts` given (the assets),
 *    which get a dummy non-empty code, so the official "asset is a contract" check passes and
 *    signatures are checked by ECDSA recovery (the EOA path), not ERC-1271.
 *  - readContract("transferWithAuthorization") — the facilitator's eth_call SIMULATION of the
 *    transfer — always succeeds. So balance, nonce-already-used, token name/version on chain and
 *    the token's own ecrecover (USDC accepts v = 27/28 only) are NOT checked here.
 *    `simulations` names the functions whose simulation succeeds (the upto facilitator simulates
 *    the proxy's "settle" / "settleWithPermit": then Permit2 allowance, balance, Permit2 nonce and
 *    the EIP-2612 permit are not checked either).
 *  - getAddresses: the facilitator's own addresses (`addresses`; upto checks the witness against them).
 *  - every other read, and anything that writes (settle), throws.
 */
export function createOfflineChainView({
  contracts = [],
  addresses = ["0x000000000000000000000000000000000000fAC1"],
  simulations = ["transferWithAuthorization"],
} = {}) {
  const isContract = (address) => contracts.some((c) => isAddressEqual(c, address));
  return {
    getAddresses: () => addresses,
    async getCode({ address }) {
      return isContract(address) ? "0x6080604052" : "0x";
    },
    async readContract({ functionName }) {
      if (simulations.includes(functionName)) return undefined; // simulation "succeeds"
      throw new Error(`offline chain view: readContract(${functionName}) is not available`);
    },
    verifyTypedData: (args) => verifyTypedData(args), // pure ECDSA (EOA) check, no RPC
    async writeContract() {
      throw new Error("offline chain view: cannot write");
    },
    async sendTransaction() {
      throw new Error("offline chain view: cannot send transactions");
    },
    async waitForTransactionReceipt() {
      throw new Error("offline chain view: no receipts");
    },
  };
}

/**
 * The official in-process facilitator (@x402/core x402Facilitator) with the official exact EVM
 * facilitator scheme registered for `networks`, on the offline chain view above.
 */
export function createOfflineFacilitator(networks, chainView = createOfflineChainView()) {
  return new x402Facilitator().register(networks, new ExactEvmFacilitatorScheme(chainView));
}

/**
 * The official resource server (@x402/core x402ResourceServer, what @x402/express uses) with
 * the official exact EVM server scheme registered for "eip155:*" and `facilitator` as its
 * facilitator client (an x402Facilitator has the getSupported/verify/settle a client needs).
 */
export function createResourceServer(facilitator) {
  return new x402ResourceServer(facilitator).register("eip155:*", new ExactEvmServerScheme());
}

/** Unique values, order kept. */
export function unique(values) {
  return [...new Set(values)];
}

/**
 * The official server's and facilitator's verdict on a decoded payment, the steps a real server takes:
 *  1. server.findMatchingRequirements(accepts, payload): no match is "No matching payment requirements";
 *  2. server.validateExtensions(paymentRequired, payload): the echoed extensions;
 *  3. facilitator.verify(payload, requirement), only when a requirement matched.
 * Fills `out`'s matched, extensionsValid, verifyResponse and valid (matched && extensionsValid &&
 * verifyResponse.isValid), and pushes each failure onto out.errors. Returns the matched requirement (or undefined).
 */
export async function officialVerdict({ server, facilitator, paymentRequired, payload, out }) {
  let requirement;
  try {
    requirement = server.findMatchingRequirements(paymentRequired.accepts ?? [], payload);
    if (requirement === undefined) out.errors.push("No matching payment requirements");
  } catch (error) {
    out.errors.push(errorMessage(error)); // e.g. "Unsupported x402 version: …" (the server's 402 error)
  }
  out.matched = requirement !== undefined;

  try {
    const ext = server.validateExtensions(paymentRequired, payload);
    out.extensionsValid = ext.valid;
    if (!ext.valid) out.errors.push(`${ext.invalidReason} (${ext.extensionKey})`);
  } catch (error) {
    out.errors.push(`validateExtensions threw: ${errorMessage(error)}`);
  }

  if (requirement) {
    try {
      out.verifyResponse = await facilitator.verify(payload, requirement);
      if (!out.verifyResponse.isValid) {
        const { invalidReason, invalidMessage } = out.verifyResponse;
        out.errors.push(invalidMessage ? `${invalidReason}: ${invalidMessage}` : invalidReason);
      }
    } catch (error) {
      out.errors.push(`facilitator verify threw: ${errorMessage(error)}`);
    }
  }

  out.valid = out.matched && out.extensionsValid && out.verifyResponse?.isValid === true;
  return requirement;
}
