// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Multicall3Lite — the tryAggregate function of Multicall3, for the local test chain.
/// @notice The official x402 EVM facilitator reads token state (balance, name, version, authorizationState) through Multicall3
///         at its canonical address 0xcA11bde05977b3631167028862bE2a173976CA11 to explain a failed simulation. Public chains have
///         it deployed; a fresh local chain does not, so the test chain places this code at that address. Written here from the
///         Multicall3 interface (same signature and semantics for tryAggregate), not copied.
contract Multicall3Lite {
    struct Call {
        address target;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    function tryAggregate(bool requireSuccess, Call[] calldata calls) public payable returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory ret) = calls[i].target.call(calls[i].callData);
            if (requireSuccess) {
                require(success, "Multicall3: call failed");
            }
            returnData[i] = Result(success, ret);
        }
    }
}
