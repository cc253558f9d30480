// verify-payment.mjs — would the OFFICIAL server + facilitator accept this PAYMENT-SIGNATURE?
//
// stdin:  { "paymentSignatureHeader": "<base64>", "paymentRequiredHeader": "<base64 of the 402 it answers>" }
// stdout: { "decoded": <payload object | null>, "paymentRequired": <the decoded 402 | null>,
//           "matched": bool, "extensionsValid": bool,
//           "signatureValid": bool, "recovered": "0x…" | null, "v": n | null,
//           "verifyResponse": <official facilitator VerifyResponse | null>,
//           "valid": bool,            // matched && extensionsValid && verifyResponse.isValid
//           "errors": ["…"] }
//
// What runs, all official code (offline; see createOfflineChainView in lib.mjs):
//  1. decodePaymentSignatureHeader / decodePaymentRequiredHeader (@x402/core/http): the server's
//     codec. It accepts only the standard base64 alphabet (A–Z a–z 0–9 + /, optional "=" padding).
//     `paymentRequired` is the 402 as this official decoder read it (key order kept).
//  2. x402ResourceServer.findMatchingRequirements(accepts, payload): the server's matching; no match
//     is what the server answers with "No matching payment requirements". Core fields of `accepted`
//     (scheme, network, amount, asset, payTo, maxTimeoutSeconds) must deep-equal an advertised entry
//     (same JSON types, exact strings); `extra` must contain the advertised `extra` (extra keys ok).
//  3. x402ResourceServer.validateExtensions(paymentRequired, payload): echoed extension `info` must
//     match what was advertised (else "extension_echo_mismatch"); the SIWX resource-server
//     extension is registered so its dynamic fields are ignored as on the real server.
//  4. x402Facilitator.verify(payload, requirement) with @x402/evm's exact facilitator scheme:
//     scheme/network, extra.name+version present, EIP-712 TransferWithAuthorization signature
//     recovers to authorization.from (ECDSA; payer treated as an EOA), authorization.to == payTo
//     (checksum-insensitive), validBefore >= now + 6 s, validAfter <= now, value == amount EXACTLY.
//     NOT covered (needs a chain): the eth_call simulation of transferWithAuthorization (balance,
//     nonce already used, on-chain token name/version, USDC's v ∈ {27,28}), ERC-1271/6492 wallets,
//     "asset is a deployed contract" (assumed true for the requirement's asset).
//  5. signatureValid / recovered: the same typed data checked with @x402/evm's exported
//     verifyTypedDataSignature (what step 4 calls) and viem's recoverTypedDataAddress, against the
//     matched requirement (or `accepted` when nothing matched). `v` is the signature's last byte.

import { decodePaymentRequiredHeader, decodePaymentSignatureHeader } from "@x402/core/http";
import { authorizationTypes, verifyTypedDataSignature } from "@x402/evm";
import {
  createSIWxResourceServerExtension,
  InMemorySIWxStorage,
} from "@x402/extensions/sign-in-with-x";
import { getAddress, recoverTypedDataAddress } from "viem";
import {
  createOfflineChainView,
  createOfflineFacilitator,
  createResourceServer,
  errorMessage,
  officialVerdict,
  run,
} from "./lib.mjs";

run(async ({ paymentSignatureHeader, paymentRequiredHeader }) => {
  const out = {
    decoded: null,
    paymentRequired: null,
    matched: false,
    extensionsValid: false,
    signatureValid: false,
    recovered: null,
    v: null,
    verifyResponse: null,
    valid: false,
    errors: [],
  };

  let payload;
  try {
    payload = decodePaymentSignatureHeader(paymentSignatureHeader);
    out.decoded = payload;
  } catch (error) {
    out.errors.push(`decode PAYMENT-SIGNATURE: ${errorMessage(error)}`);
    return out;
  }
  const paymentRequired = decodePaymentRequiredHeader(paymentRequiredHeader);
  out.paymentRequired = paymentRequired;
  const accepts = paymentRequired.accepts ?? [];

  const assets = accepts.map((a) => a.asset).filter(Boolean);
  const chainView = createOfflineChainView({ contracts: assets });
  const networks = [...new Set(accepts.map((a) => a.network))];
  const facilitator = createOfflineFacilitator(networks.length ? networks : ["eip155:*"], chainView);
  const server = createResourceServer(facilitator);
  const resourceUrl = paymentRequired.resource?.url;
  if (paymentRequired.extensions?.["sign-in-with-x"] && resourceUrl) {
    server.registerExtension(
      createSIWxResourceServerExtension({
        origin: new URL(resourceUrl).origin,
        storage: new InMemorySIWxStorage(),
      }),
    );
  }

  // 2.–4. requirement matching, extension echo check and the facilitator's verify (off-chain part)
  const requirement = await officialVerdict({ server, facilitator, paymentRequired, payload, out });

  // 5. the signature alone
  const req = requirement ?? payload.accepted;
  const auth = payload.payload?.authorization;
  const signature = payload.payload?.signature;
  if (req && auth && typeof signature === "string") {
    if (/^0x[0-9a-fA-F]{130}$/.test(signature)) out.v = parseInt(signature.slice(-2), 16);
    try {
      const typedData = {
        types: authorizationTypes,
        primaryType: "TransferWithAuthorization",
        domain: {
          name: req.extra?.name,
          version: req.extra?.version,
          chainId: Number(String(req.network).split(":")[1]),
          verifyingContract: getAddress(req.asset),
        },
        message: {
          from: auth.from,
          to: auth.to,
          value: BigInt(auth.value),
          validAfter: BigInt(auth.validAfter),
          validBefore: BigInt(auth.validBefore),
          nonce: auth.nonce,
        },
      };
      out.recovered = await recoverTypedDataAddress({ ...typedData, signature });
      out.signatureValid = await verifyTypedDataSignature(chainView, {
        address: auth.from,
        ...typedData,
        signature,
      });
    } catch (error) {
      out.errors.push(`signature check: ${errorMessage(error)}`);
    }
  } else {
    out.errors.push("payload has no authorization/signature");
  }

  return out;
});
