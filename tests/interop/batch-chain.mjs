// batch-chain.mjs — a local chain for the x402 `batch-settlement` scheme: the upto chain (upto-chain.mjs: anvil, Permit2, our
// upto proxy, TestUsdc, Multicall3Lite, the official upto facilitator) plus OUR OWN batch-settlement contracts
// (contracts/BatchSettlement.sol, compiled for cancun) placed with anvil_setCode at the canonical x402BatchSettlement,
// ERC3009DepositCollector and Permit2DepositCollector addresses, and the OFFICIAL @x402/evm batch-settlement facilitator registered next to upto.
//
// As a module: `startBatchChain()` (below). As a script (for the C# end-to-end tests), long-running like upto-chain.mjs:
//   stdin:  one JSON line {chainId?, fundedWallets?, fundAmount?}, then kept open; the chain stops when stdin closes (or SIGTERM)
//   stdout: one JSON line when ready: upto-chain.mjs's fields plus {batchSettlement, depositCollector, permit2DepositCollector,
//           receiverAuthorizer: {address, privateKey}}; the facilitator (POST /verify, POST /settle, GET /supported) serves upto and
//           batch-settlement, signs claims and refunds with the receiver authorizer and pays the gas.

import { fileURLToPath } from "node:url";
import { BatchSettlementEvmScheme as BatchFacilitatorScheme } from "@x402/evm/batch-settlement/facilitator";
import { getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { compileContracts } from "./chain.mjs";
import { serveChainScript, startUptoChain } from "./upto-chain.mjs";

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
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await serveChainScript(startBatchChain, (up) => ({
    batchSettlement: up.batchSettlement,
    depositCollector: up.depositCollector,
    permit2DepositCollector: up.permit2DepositCollector,
    receiverAuthorizer: { address: up.receiverAuthorizer.address, privateKey: up.receiverAuthorizerKey },
  }));
}
