"""The plugin's one call to the agent: a unary gRPC call on the agent's unix socket.

The only module of the plugin that loads gRPC, and only for ADD, CHECK and DEL; the messages are
encoded by `cni.wire`. A failure of the call itself becomes a CNI error: an agent that is not
there (yet) is "try again later" (11).
"""

from __future__ import annotations

import grpc

from cni.errors import CniError, ErrorCode
from cni.wire import METHODS, CmdArgs, WireError, decode_response, encode_request

CALL_TIMEOUT_SECONDS = 90.0
"""Longer than the agent may hold an ADD at its start-up gate (30 s by default)."""


def call_agent(socket: str, command: str, args: CmdArgs) -> bytes:
    """Send `command` (ADD, CHECK, DEL) to the agent at `socket`; returns the CNI result bytes.

    Raises `CniError` with the agent's error, or with the reason the call failed.
    """
    target = f"unix:{socket}"
    with grpc.insecure_channel(target) as channel:
        method = channel.unary_unary(METHODS[command])
        try:
            answer: bytes = method(encode_request(args), timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            raise _call_failed(target, exc) from None
    try:
        response = decode_response(answer)
    except WireError as exc:
        reason = f"cannot decode the answer of the agent at {target}"
        raise CniError(ErrorCode.UNKNOWN_RPC_ERROR, reason, str(exc)) from None
    if response.error is not None:
        try:
            code = ErrorCode(response.error.code)
        except ValueError:
            code = ErrorCode.UNKNOWN
        raise CniError(code, response.error.message, response.error.details)
    return response.cni_result


def _call_failed(target: str, exc: grpc.RpcError) -> CniError:
    status: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]
    details: str = exc.details() or ""  # type: ignore[attr-defined]
    if status == grpc.StatusCode.UNAVAILABLE:
        return CniError(
            ErrorCode.TRY_AGAIN_LATER,
            f"cannot reach the pyantrea agent at {target}: is pyantrea-agent running on this node?",
            details,
        )
    if status == grpc.StatusCode.DEADLINE_EXCEEDED:
        return CniError(
            ErrorCode.TRY_AGAIN_LATER,
            f"the pyantrea agent at {target} did not answer within {CALL_TIMEOUT_SECONDS:.0f}s",
            details,
        )
    if status == grpc.StatusCode.UNIMPLEMENTED:
        return CniError(
            ErrorCode.INCOMPATIBLE_API_VERSION,
            f"the pyantrea agent at {target} does not serve pyantrea.cni.v1beta1",
            details,
        )
    return CniError(
        ErrorCode.UNKNOWN_RPC_ERROR,
        f"the call to the pyantrea agent at {target} failed: {status.name}",
        details,
    )
