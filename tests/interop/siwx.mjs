// siwx.mjs — sign-in-with-x (SIWX, EIP-4361 for EVM) exactly as @x402/extensions does it.
//
// op "message": { "op": "message", "info": {…info of the 402's sign-in-with-x extension…},
//                 "address": "0x…", "chainId": "eip155:84532" }
//   → { "message": "<EIP-4361 text>" }            createSIWxMessage({ ...info, chainId }, address)
//   or { "message": null, "error": "…" } when the official builder throws (e.g. nonce shorter than
//   8 alphanumerics, bad EIP-55 checksum, issuedAt not RFC 3339).
//
// op "sign":    { "op": "sign", "privateKey": "0x…", "extension": {info, supportedChains, …},
//                 "uri"?: "<URL the 402 came from; default extension.info.uri>",
//                 "chainId"?: "eip155:…" }   // default: the official client's choice (first eip191 chain)
//   → { "header": "<SIGN-IN-WITH-X value>", "decoded": {…header JSON, key order kept…}, "message": "…" }
//   or, when the official client refuses (e.g. domain/uri not bound to `uri`'s origin):
//   → { "header": null, "error": "…" }
//   Default path is the official client hook createSIWxClientHook(account) (what the SIWX client
//   extension / fetch wrapper runs on a 402); with "chainId" it calls createSIWxPayload directly.
//   Both end in createSIWxPayload + encodeSIWxHeader; the signature is viem's EIP-191 signMessage.
//
// op "verify":  { "op": "verify", "header": "<SIGN-IN-WITH-X value>",
//                 "expectedOrigin"?: "http://host:port",   // what the official server is configured with
//                 "expectedDomain"?: "host:port", "expectedUri"?: "<URL>", "maxAgeSeconds"?: n }
//   → { "valid": bool, "address": "0x…" | null, "errors": ["reason: message"], "parsed": {…} | null,
//       "message": "<the EIP-4361 text the verifier rebuilt>" | null }
//   Same steps as the official server's request hook: parseSIWxHeader → validateSIWxMessage(payload,
//   origin, { maxAge }) → verifySIWxSignature(payload) (EIP-191 recovery via viem verifyMessage; no
//   RPC, so EOAs only). Origin used: expectedOrigin; else expectedUri's origin (host = expectedDomain
//   if given); else "http://" + expectedDomain; else taken from the header itself (then the
//   domain/URI binding is not really tested). NOT covered: nonce reuse and "has this address paid"
//   (server storage).

import { safeBase64Decode } from "@x402/core/utils";
import {
  createSIWxClientHook,
  createSIWxMessage,
  createSIWxPayload,
  encodeSIWxHeader,
  parseSIWxHeader,
  validateSIWxMessage,
  verifySIWxSignature,
} from "@x402/extensions/sign-in-with-x";
import { privateKeyToAccount } from "viem/accounts";
import { errorMessage, run } from "./lib.mjs";

const SIWX = "sign-in-with-x";

/** The official client signs only when the 402's info matches the responding origin. */
async function sign({ privateKey, extension, uri, chainId }) {
  const account = privateKeyToAccount(privateKey);
  const requestUrl = uri ?? extension.info.uri;
  let header;
  if (chainId === undefined) {
    const hook = createSIWxClientHook(account);
    const result = await hook({
      paymentRequired: { x402Version: 2, accepts: [], extensions: { [SIWX]: extension } },
      requestUrl,
    });
    header = result?.headers?.[SIWX];
    if (!header) {
      // the hook swallows errors; redo its step directly to report why
      const chain = (extension.supportedChains ?? []).find((c) => c.type === "eip191");
      if (!chain) return { header: null, error: "no eip191 chain in supportedChains" };
      try {
        await createSIWxPayload({ ...extension.info, chainId: chain.chainId, type: chain.type }, account, requestUrl);
      } catch (error) {
        return { header: null, error: errorMessage(error) };
      }
      return { header: null, error: "official client hook produced no header" };
    }
  } else {
    const chain = (extension.supportedChains ?? []).find((c) => c.chainId === chainId);
    const info = { ...extension.info, chainId, type: chain?.type ?? "eip191" };
    try {
      header = encodeSIWxHeader(await createSIWxPayload(info, account, requestUrl));
    } catch (error) {
      return { header: null, error: errorMessage(error) };
    }
  }
  const decoded = JSON.parse(safeBase64Decode(header));
  return { header, decoded, message: createSIWxMessage(decoded, decoded.address) };
}

function expectedOriginFor(input, payload) {
  if (input.expectedOrigin) return new URL(input.expectedOrigin);
  if (input.expectedUri) {
    const url = new URL(input.expectedUri);
    return { host: input.expectedDomain ?? url.host, origin: url.origin };
  }
  if (input.expectedDomain) return new URL(`http://${input.expectedDomain}`);
  return { host: payload.domain, origin: new URL(payload.uri).origin };
}

async function verify(input) {
  const out = { valid: false, address: null, errors: [], parsed: null, message: null };
  let payload;
  try {
    payload = parseSIWxHeader(input.header);
  } catch (error) {
    out.errors.push(errorMessage(error));
    return out;
  }
  out.parsed = payload;
  out.address = payload.address;
  try {
    out.message = createSIWxMessage(payload, payload.address);
  } catch (error) {
    out.errors.push(`message: ${errorMessage(error)}`);
  }
  const options = input.maxAgeSeconds !== undefined ? { maxAge: input.maxAgeSeconds * 1000 } : {};
  let validation;
  try {
    validation = await validateSIWxMessage(payload, expectedOriginFor(input, payload), options);
  } catch (error) {
    validation = { isValid: false, invalidReason: "validate_threw", invalidMessage: errorMessage(error) };
  }
  if (!validation.isValid) out.errors.push(`${validation.invalidReason}: ${validation.invalidMessage}`);
  let verification;
  try {
    verification = await verifySIWxSignature(payload);
  } catch (error) {
    // formatSIWEMessage (inside) throws on e.g. a bad EIP-55 checksum or a nonce < 8 alphanumerics
    verification = { isValid: false, invalidReason: "verify_threw", invalidMessage: errorMessage(error) };
  }
  if (!verification.isValid) out.errors.push(`${verification.invalidReason}: ${verification.invalidMessage}`);
  out.valid = validation.isValid && verification.isValid;
  return out;
}

run(async (input) => {
  switch (input.op) {
    case "message":
      try {
        const info = { ...input.info, chainId: input.chainId ?? input.info.chainId };
        return { message: createSIWxMessage(info, input.address) };
      } catch (error) {
        return { message: null, error: errorMessage(error) }; // the official builder refused
      }
    case "sign":
      return sign(input);
    case "verify":
      return verify(input);
    default:
      throw new Error(`unknown op: ${input.op}`);
  }
});
