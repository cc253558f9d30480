// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IPermit2WitnessTransfer, IERC20PermitMinimal} from "./Permit2Interfaces.sol";

/// @title UptoPermit2Proxy — X402Orleans' own spender contract for the x402 `upto` scheme on the local test chain.
/// @notice Written from the x402 upto EVM scheme specification and from what the official @x402/evm 2.27.0 upto facilitator
///         sends (its x402UptoPermit2Proxy ABI: settle / settleWithPermit, the PERMIT2 getter, the error names it maps); it is
///         placed at the canonical proxy address 0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002 with anvil_setCode, so it has no
///         constructor and no immutables.
///
///         The payer signs Permit2's PermitWitnessTransferFrom with this contract as spender, `permitted.amount` = the maximum,
///         and the witness Witness(address to, address facilitator, uint256 validAfter). The witness binds the recipient and the
///         one facilitator allowed to settle, so:
///           - only `witness.facilitator` may call (msg.sender), and it chooses `amount` ≤ `permitted.amount`;
///           - the tokens go to `witness.to` and nowhere else; not before `witness.validAfter`; Permit2 enforces the deadline,
///             the signature and the single use of the nonce (also for amount 0: a 0 settlement sent here burns the nonce).
contract UptoPermit2Proxy {
    struct Witness {
        address to;
        address facilitator;
        uint256 validAfter;
    }

    struct EIP2612Permit {
        uint256 value;
        uint256 deadline;
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    /// @notice Canonical Permit2.
    IPermit2WitnessTransfer public constant PERMIT2 = IPermit2WitnessTransfer(0x000000000022D473030F116dDEE9F6B43aC78BA3);

    /// @notice EIP-712 type of the witness (what the official upto client signs).
    bytes32 public constant WITNESS_TYPEHASH = keccak256("Witness(address to,address facilitator,uint256 validAfter)");

    /// @notice Permit2's witness type string: the witness member, then the referenced struct types in EIP-712 order.
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)";

    event Settled();
    event SettledWithPermit();

    error AmountExceedsPermitted();
    error InvalidDestination();
    error InvalidOwner();
    error PaymentTooEarly();
    error Permit2612AmountMismatch();
    error ReentrancyGuardReentrantCall();
    error UnauthorizedFacilitator();

    /// @dev 0 = idle (the state of fresh code placed by anvil_setCode), 1 = inside a settlement.
    uint256 private _entered;

    modifier nonReentrant() {
        if (_entered != 0) revert ReentrancyGuardReentrantCall();
        _entered = 1;
        _;
        _entered = 0;
    }

    /// @notice Moves `amount` (≤ the signed maximum) from `owner` to `witness.to` through Permit2.
    function settle(
        IPermit2WitnessTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _settle(permit, amount, owner, witness, signature);
        emit Settled();
    }

    /// @notice As settle, after applying the payer's EIP-2612 permit that approves Permit2 (gas-sponsored approval). A permit
    ///         that fails (e.g. already submitted by someone else) is ignored: Permit2's transfer then decides.
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        IPermit2WitnessTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        if (permit2612.value != permit.permitted.amount) revert Permit2612AmountMismatch();
        try IERC20PermitMinimal(permit.permitted.token).permit(
            owner, address(PERMIT2), permit2612.value, permit2612.deadline, permit2612.v, permit2612.r, permit2612.s
        ) {} catch {}
        _settle(permit, amount, owner, witness, signature);
        emit SettledWithPermit();
    }

    function _settle(
        IPermit2WitnessTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        if (msg.sender != witness.facilitator) revert UnauthorizedFacilitator();
        if (amount > permit.permitted.amount) revert AmountExceedsPermitted();
        if (owner == address(0)) revert InvalidOwner();
        if (witness.to == address(0)) revert InvalidDestination();
        if (block.timestamp < witness.validAfter) revert PaymentTooEarly();
        bytes32 witnessHash = keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.facilitator, witness.validAfter));
        PERMIT2.permitWitnessTransferFrom(
            permit,
            IPermit2WitnessTransfer.SignatureTransferDetails({to: witness.to, requestedAmount: amount}),
            owner,
            witnessHash,
            WITNESS_TYPE_STRING,
            signature
        );
    }
}
