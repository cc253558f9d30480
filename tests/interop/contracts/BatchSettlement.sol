// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPermit2WitnessTransfer, IERC20PermitMinimal} from "./Permit2Interfaces.sol";

// Our own x402 batch-settlement contracts (x402BatchSettlement, ERC3009DepositCollector, Permit2DepositCollector) for local
// chains, written from the batch-settlement scheme and from what the official @x402/evm 2.27.0 client, server and facilitator
// sign and call (see tests/interop/README.md). No constructor state: they are placed with anvil_setCode at the canonical
// addresses, and every EIP-712 domain is built from address(this) and block.chainid at call time. Uses transient storage
// (Cancun) for the reentrancy lock. Permit2's interface (shared with the upto proxy) is in Permit2Interfaces.sol.

/// @dev The parts of an ERC-20 / EIP-3009 token these contracts call.
interface IToken {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function receiveWithAuthorization(
        address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce,
        uint8 v, bytes32 r, bytes32 s
    ) external;
}

/// @dev A deposit collector pulls `amount` of `token` from `payer` (as the payer's authorization in `data` allows, bound to
/// `channelId`) and sends it to the caller, the batch-settlement contract.
interface IDepositCollector {
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata data) external;
}

interface IERC1271 {
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4);
}

/// @dev Signature recovery shared by both contracts: 65 bytes r‖s‖v, v 27/28, low s, never the zero address.
library Sig {
    error InvalidSignature();

    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    function split(bytes calldata signature) internal pure returns (uint8 v, bytes32 r, bytes32 s) {
        if (signature.length != 65) revert InvalidSignature();
        r = bytes32(signature[0:32]);
        s = bytes32(signature[32:64]);
        v = uint8(signature[64]);
    }

    /// @dev The signer of `digest`, or address(0) when the signature is malformed or malleable.
    function recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) return address(0);
        (uint8 v, bytes32 r, bytes32 s) = split(signature);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}

/// @title x402BatchSettlement — payment channels: deposit once, claim the payer's cumulative vouchers in batches.
contract X402BatchSettlement {
    struct ChannelConfig {
        address payer;
        address payerAuthorizer; // signs vouchers; address(0) = the payer itself (ECDSA for EOAs, ERC-1271 for contracts)
        address receiver;
        address receiverAuthorizer; // authorizes claims and refunds
        address token;
        uint40 withdrawDelay;
        bytes32 salt;
    }

    struct Voucher {
        ChannelConfig channel;
        uint128 maxClaimableAmount;
    }

    struct VoucherClaim {
        Voucher voucher;
        bytes signature; // the payer authorizer's signature over Voucher(channelId, maxClaimableAmount)
        uint128 totalClaimed; // the channel's new cumulative claimed total
    }

    struct Channel {
        uint128 balance; // deposited, minus refunds and withdrawals; claimed funds stay counted until settled out
        uint128 totalClaimed;
    }

    struct PendingWithdrawal {
        uint128 amount;
        uint40 initiatedAt;
    }

    struct ReceiverTotals {
        uint128 totalClaimed;
        uint128 totalSettled;
    }

    uint256 public constant MIN_WITHDRAW_DELAY = 900;
    uint256 public constant MAX_WITHDRAW_DELAY = 2_592_000;
    bytes32 public constant CHANNEL_CONFIG_TYPEHASH = keccak256(
        "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
    );
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint128 maxClaimableAmount)");
    bytes32 public constant REFUND_TYPEHASH = keccak256("Refund(bytes32 channelId,uint256 nonce,uint128 amount)");
    bytes32 public constant CLAIM_ENTRY_TYPEHASH =
        keccak256("ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)");
    bytes32 public constant CLAIM_BATCH_TYPEHASH = keccak256(
        "ClaimBatch(ClaimEntry[] claims)ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("x402 Batch Settlement");
    bytes32 private constant VERSION_HASH = keccak256("1");

    mapping(bytes32 channelId => Channel) public channels;
    mapping(bytes32 channelId => PendingWithdrawal) public pendingWithdrawals;
    mapping(bytes32 channelId => uint256) public refundNonce;
    mapping(address receiver => mapping(address token => ReceiverTotals)) public receivers;

    bool private transient locked;

    event Deposited(bytes32 indexed channelId, address indexed payer, address indexed collector, uint128 amount);
    event Claimed(bytes32 indexed channelId, address indexed receiver, uint128 totalClaimed, uint128 delta);
    event Settled(address indexed receiver, address indexed token, address indexed sender, uint128 amount);
    event Refunded(bytes32 indexed channelId, address indexed payer, uint256 nonce, uint128 amount);
    event WithdrawInitiated(bytes32 indexed channelId, uint128 amount, uint40 finalizableAt);
    event WithdrawFinalized(bytes32 indexed channelId, address indexed payer, uint128 amount);

    error Reentrancy();
    error InvalidChannelConfig();
    error ZeroAmount();
    error DepositNotReceived(uint256 expected, uint256 received);
    error InvalidVoucherSignature(bytes32 channelId);
    error InvalidAuthorizerSignature();
    error Unauthorized();
    error ClaimDecreases(bytes32 channelId, uint128 current, uint128 requested);
    error ClaimExceedsVoucher(bytes32 channelId, uint128 maxClaimableAmount, uint128 requested);
    error ClaimExceedsBalance(bytes32 channelId, uint128 balance, uint128 requested);
    error InvalidRefundNonce(uint256 expected, uint256 given);
    error NothingToRefund();
    error WithdrawalPending();
    error NoPendingWithdrawal();
    error WithdrawDelayNotElapsed(uint256 finalizableAt);
    error TransferFailed();

    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    // --- deposits -------------------------------------------------------------------------------------------------------

    /// @notice Adds `amount` to the channel of `config`, pulled from the payer by `collector` (any collector: what counts is
    /// the token balance this contract actually gained).
    function deposit(ChannelConfig calldata config, uint128 amount, address collector, bytes calldata collectorData)
        external
        nonReentrant
    {
        if (
            config.payer == address(0) || config.receiver == address(0) || config.token == address(0)
                || config.withdrawDelay < MIN_WITHDRAW_DELAY || config.withdrawDelay > MAX_WITHDRAW_DELAY
        ) revert InvalidChannelConfig();
        if (amount == 0) revert ZeroAmount();
        bytes32 channelId = getChannelId(config);
        IToken token = IToken(config.token);
        uint256 before = token.balanceOf(address(this));
        IDepositCollector(collector).collect(config.payer, config.token, amount, channelId, collectorData);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert DepositNotReceived(amount, received);
        channels[channelId].balance += amount;
        emit Deposited(channelId, config.payer, collector, amount);
    }

    // --- claims and settlement --------------------------------------------------------------------------------------------

    /// @notice Raises the claimed totals of channels whose receiver authorizer is the caller.
    function claim(VoucherClaim[] calldata voucherClaims) external nonReentrant {
        for (uint256 i = 0; i < voucherClaims.length; i++) {
            if (voucherClaims[i].voucher.channel.receiverAuthorizer != msg.sender) revert Unauthorized();
            _claim(voucherClaims[i]);
        }
    }

    /// @notice Raises the claimed totals of channels, authorized by their receiver authorizer's EIP-712 `ClaimBatch`
    /// signature over exactly these claims (any sender may submit it).
    function claimWithSignature(VoucherClaim[] calldata voucherClaims, bytes calldata authorizerSignature)
        external
        nonReentrant
    {
        address authorizer = Sig.recover(getClaimBatchDigest(voucherClaims), authorizerSignature);
        if (authorizer == address(0)) revert InvalidAuthorizerSignature();
        for (uint256 i = 0; i < voucherClaims.length; i++) {
            if (voucherClaims[i].voucher.channel.receiverAuthorizer != authorizer) revert InvalidAuthorizerSignature();
            _claim(voucherClaims[i]);
        }
    }

    /// @notice Sends everything claimed for `receiver` in `token` and not yet sent to `receiver` (anyone may call).
    function settle(address receiver, address token) external nonReentrant {
        ReceiverTotals storage totals = receivers[receiver][token];
        uint128 amount = totals.totalClaimed - totals.totalSettled;
        if (amount == 0) return;
        totals.totalSettled = totals.totalClaimed;
        _send(token, receiver, amount);
        emit Settled(receiver, token, msg.sender, amount);
    }

    // --- refunds and withdrawals ------------------------------------------------------------------------------------------

    /// @notice Cooperative refund sent by the receiver or its authorizer.
    function refund(ChannelConfig calldata config, uint128 amount) external nonReentrant {
        if (msg.sender != config.receiver && msg.sender != config.receiverAuthorizer) revert Unauthorized();
        bytes32 channelId = getChannelId(config);
        _refund(config, channelId, refundNonce[channelId], amount);
    }

    /// @notice Cooperative refund authorized by the receiver authorizer's EIP-712 `Refund(channelId, nonce, amount)`; pays
    /// the unclaimed balance, up to `amount`, to the payer and cancels a pending withdrawal.
    function refundWithSignature(
        ChannelConfig calldata config,
        uint128 amount,
        uint256 nonce,
        bytes calldata receiverAuthorizerSignature
    ) external nonReentrant {
        bytes32 channelId = getChannelId(config);
        if (nonce != refundNonce[channelId]) revert InvalidRefundNonce(refundNonce[channelId], nonce);
        address signer = Sig.recover(getRefundDigest(channelId, nonce, amount), receiverAuthorizerSignature);
        if (signer == address(0) || signer != config.receiverAuthorizer) revert InvalidAuthorizerSignature();
        _refund(config, channelId, nonce, amount);
    }

    /// @notice The payer (or its authorizer) announces a unilateral withdrawal of up to `amount`; it can be finalized after
    /// the channel's withdrawDelay, during which the receiver can still claim the vouchers it holds.
    function initiateWithdraw(ChannelConfig calldata config, uint128 amount) external nonReentrant {
        if (msg.sender != config.payer && (config.payerAuthorizer == address(0) || msg.sender != config.payerAuthorizer)) {
            revert Unauthorized();
        }
        if (amount == 0) revert ZeroAmount();
        bytes32 channelId = getChannelId(config);
        PendingWithdrawal storage pending = pendingWithdrawals[channelId];
        if (pending.initiatedAt != 0) revert WithdrawalPending();
        pending.amount = amount;
        pending.initiatedAt = uint40(block.timestamp);
        emit WithdrawInitiated(channelId, amount, uint40(block.timestamp + config.withdrawDelay));
    }

    /// @notice Pays the pending withdrawal — capped to what is still unclaimed — to the payer (anyone may call).
    function finalizeWithdraw(ChannelConfig calldata config) external nonReentrant {
        bytes32 channelId = getChannelId(config);
        PendingWithdrawal memory pending = pendingWithdrawals[channelId];
        if (pending.initiatedAt == 0) revert NoPendingWithdrawal();
        uint256 finalizableAt = uint256(pending.initiatedAt) + config.withdrawDelay;
        if (block.timestamp < finalizableAt) revert WithdrawDelayNotElapsed(finalizableAt);
        delete pendingWithdrawals[channelId];
        Channel storage channel = channels[channelId];
        uint128 unclaimed = channel.balance - channel.totalClaimed;
        uint128 amount = pending.amount < unclaimed ? pending.amount : unclaimed;
        channel.balance -= amount;
        if (amount > 0) _send(config.token, config.payer, amount);
        emit WithdrawFinalized(channelId, config.payer, amount);
    }

    /// @notice Runs several calls of this contract in one transaction (the facilitator batches claim + refund).
    function multicall(bytes[] calldata data) external returns (bytes[] memory results) {
        results = new bytes[](data.length);
        for (uint256 i = 0; i < data.length; i++) {
            (bool ok, bytes memory result) = address(this).delegatecall(data[i]);
            if (!ok) {
                assembly {
                    revert(add(result, 0x20), mload(result))
                }
            }
            results[i] = result;
        }
    }

    // --- views ------------------------------------------------------------------------------------------------------------

    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The channel id: the EIP-712 digest of the ChannelConfig under this contract's domain.
    function getChannelId(ChannelConfig calldata config) public view returns (bytes32) {
        return _digest(keccak256(abi.encode(CHANNEL_CONFIG_TYPEHASH, config)));
    }

    function getVoucherDigest(bytes32 channelId, uint128 maxClaimableAmount) public view returns (bytes32) {
        return _digest(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, maxClaimableAmount)));
    }

    function getRefundDigest(bytes32 channelId, uint256 nonce, uint128 amount) public view returns (bytes32) {
        return _digest(keccak256(abi.encode(REFUND_TYPEHASH, channelId, nonce, amount)));
    }

    function getClaimBatchDigest(VoucherClaim[] calldata voucherClaims) public view returns (bytes32) {
        bytes32[] memory entries = new bytes32[](voucherClaims.length);
        for (uint256 i = 0; i < voucherClaims.length; i++) {
            VoucherClaim calldata c = voucherClaims[i];
            entries[i] = keccak256(
                abi.encode(
                    CLAIM_ENTRY_TYPEHASH, getChannelId(c.voucher.channel), c.voucher.maxClaimableAmount, c.totalClaimed
                )
            );
        }
        return _digest(keccak256(abi.encode(CLAIM_BATCH_TYPEHASH, keccak256(abi.encodePacked(entries)))));
    }

    // --- internals --------------------------------------------------------------------------------------------------------

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// @dev One claim: the voucher must be signed by the payer's authorizer; the claimed total never falls (equal = no-op,
    /// the refund path re-sends the current total) and never exceeds the voucher's ceiling nor the channel's balance.
    function _claim(VoucherClaim calldata c) private {
        ChannelConfig calldata config = c.voucher.channel;
        bytes32 channelId = getChannelId(config);
        bytes32 digest = getVoucherDigest(channelId, c.voucher.maxClaimableAmount);
        if (!_isVoucherSigner(config, digest, c.signature)) revert InvalidVoucherSignature(channelId);
        Channel storage channel = channels[channelId];
        uint128 current = channel.totalClaimed;
        if (c.totalClaimed < current) revert ClaimDecreases(channelId, current, c.totalClaimed);
        if (c.totalClaimed > c.voucher.maxClaimableAmount) {
            revert ClaimExceedsVoucher(channelId, c.voucher.maxClaimableAmount, c.totalClaimed);
        }
        if (c.totalClaimed > channel.balance) revert ClaimExceedsBalance(channelId, channel.balance, c.totalClaimed);
        uint128 delta = c.totalClaimed - current;
        if (delta == 0) return;
        channel.totalClaimed = c.totalClaimed;
        receivers[config.receiver][config.token].totalClaimed += delta;
        emit Claimed(channelId, config.receiver, c.totalClaimed, delta);
    }

    function _isVoucherSigner(ChannelConfig calldata config, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool)
    {
        if (config.payerAuthorizer != address(0)) {
            address signer = Sig.recover(digest, signature);
            return signer != address(0) && signer == config.payerAuthorizer;
        }
        if (config.payer.code.length == 0) {
            address signer = Sig.recover(digest, signature);
            return signer != address(0) && signer == config.payer;
        }
        (bool ok, bytes memory result) =
            config.payer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
        return ok && result.length >= 32 && abi.decode(result, (bytes4)) == IERC1271.isValidSignature.selector;
    }

    function _refund(ChannelConfig calldata config, bytes32 channelId, uint256 nonce, uint128 amount) private {
        Channel storage channel = channels[channelId];
        uint128 unclaimed = channel.balance - channel.totalClaimed;
        uint128 paid = amount < unclaimed ? amount : unclaimed;
        if (paid == 0) revert NothingToRefund();
        refundNonce[channelId] = nonce + 1;
        channel.balance -= paid;
        delete pendingWithdrawals[channelId];
        _send(config.token, config.payer, paid);
        emit Refunded(channelId, config.payer, nonce, paid);
    }

    function _send(address token, address to, uint256 amount) private {
        (bool ok, bytes memory result) = token.call(abi.encodeCall(IToken.transfer, (to, amount)));
        if (!ok || (result.length != 0 && !abi.decode(result, (bool)))) revert TransferFailed();
    }
}

/// @title ERC3009DepositCollector — turns the payer's ERC-3009 ReceiveWithAuthorization (to this collector, nonce
/// keccak256(abi.encode(channelId, salt))) into a deposit of the x402BatchSettlement contract.
contract ERC3009DepositCollector {
    /// @dev Canonical x402BatchSettlement address: the only caller (anyone else could redirect a payer's authorization).
    address public constant BATCH_SETTLEMENT = 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003;

    error OnlyBatchSettlement();
    error TransferFailed();

    /// @param data abi.encode(uint256 validAfter, uint256 validBefore, uint256 salt, bytes signature)
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata data) external {
        if (msg.sender != BATCH_SETTLEMENT) revert OnlyBatchSettlement();
        (uint256 validAfter, uint256 validBefore, uint256 salt, bytes memory signature) =
            abi.decode(data, (uint256, uint256, uint256, bytes));
        if (signature.length != 65) revert Sig.InvalidSignature();
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        bytes32 nonce = keccak256(abi.encode(channelId, salt));
        IToken(token).receiveWithAuthorization(payer, address(this), amount, validAfter, validBefore, nonce, v, r, s);
        if (!IToken(token).transfer(msg.sender, amount)) revert TransferFailed();
    }
}

/// @title Permit2DepositCollector — turns the payer's Permit2 PermitWitnessTransferFrom (spender: this collector, permitted: exactly
/// the deposit, witness DepositWitness(bytes32 channelId)) into a deposit of the x402BatchSettlement contract. The witness binds the
/// transfer to one channel, so a signed deposit cannot be redirected into another; Permit2 enforces the signature, the deadline and
/// the single use of the nonce. An optional EIP-2612 permit (the eip2612GasSponsoring extension) first lets Permit2 spend the token.
contract Permit2DepositCollector {
    /// @dev Canonical x402BatchSettlement address: the only caller, and where the tokens go.
    address public constant BATCH_SETTLEMENT = 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003;

    /// @notice Canonical Permit2.
    IPermit2WitnessTransfer public constant PERMIT2 = IPermit2WitnessTransfer(0x000000000022D473030F116dDEE9F6B43aC78BA3);

    /// @notice EIP-712 type of the witness (what the official batch-settlement client signs).
    bytes32 public constant DEPOSIT_WITNESS_TYPEHASH = keccak256("DepositWitness(bytes32 channelId)");

    /// @notice Permit2's witness type string: the witness member, then the referenced struct types in EIP-712 (alphabetical) order.
    string public constant WITNESS_TYPE_STRING =
        "DepositWitness witness)DepositWitness(bytes32 channelId)TokenPermissions(address token,uint256 amount)";

    error OnlyBatchSettlement();

    /// @param data abi.encode(uint256 nonce, uint256 deadline, bytes permit2Signature, bytes eip2612PermitData), the last empty or
    /// abi.encode(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s). A failing EIP-2612 permit (e.g. already submitted)
    /// is ignored: Permit2's transfer then decides.
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata data) external {
        if (msg.sender != BATCH_SETTLEMENT) revert OnlyBatchSettlement();
        (uint256 nonce, uint256 deadline, bytes memory signature, bytes memory permitData) =
            abi.decode(data, (uint256, uint256, bytes, bytes));
        if (permitData.length != 0) _permit(payer, token, permitData);
        PERMIT2.permitWitnessTransferFrom(
            IPermit2WitnessTransfer.PermitTransferFrom({
                permitted: IPermit2WitnessTransfer.TokenPermissions({token: token, amount: amount}),
                nonce: nonce,
                deadline: deadline
            }),
            IPermit2WitnessTransfer.SignatureTransferDetails({to: msg.sender, requestedAmount: amount}),
            payer,
            keccak256(abi.encode(DEPOSIT_WITNESS_TYPEHASH, channelId)),
            WITNESS_TYPE_STRING,
            signature
        );
    }

    function _permit(address payer, address token, bytes memory permitData) private {
        (uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) =
            abi.decode(permitData, (uint256, uint256, uint8, bytes32, bytes32));
        try IERC20PermitMinimal(token).permit(payer, address(PERMIT2), value, deadline, v, r, s) {} catch {}
    }
}
