"""The gRPC face of the CNI service: decode a call, run it on `PodNetwork`, answer in the body.

Every answer is a `CniCmdResponse` with gRPC status OK: the CNI result, or the CNI error with its
code. The request is validated here again with the plugin's own code (`cni.invocation`,
`cni.netconf`): nothing a caller sends can make a handler raise.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

from agent.cniserver.gate import Gate
from agent.cniserver.locks import KeyedLocks
from agent.cniserver.metrics import CniMetrics
from agent.cniserver.pods import PodNetwork
from cni.errors import CniError, ErrorCode
from cni.invocation import Invocation, validate
from cni.netconf import NetworkConfig, decode_config
from cni.result import encode_result
from proto.cni.v1beta1 import cni_pb2, cni_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_GATE_TIMEOUT_SECONDS = 30.0
"""How long an ADD waits for the start-up gate before "try again later" (Antrea's podNetworkWait)."""


class CniService(cni_pb2_grpc.CniServicer):
    """CmdAdd, CmdCheck and CmdDel; calls for one container are serialized."""

    def __init__(
        self,
        pods: PodNetwork,
        *,
        gate: Gate,
        gate_timeout: float = DEFAULT_GATE_TIMEOUT_SECONDS,
        metrics: CniMetrics | None = None,
    ) -> None:
        self._pods = pods
        self._gate = gate
        self._gate_timeout = gate_timeout
        self._metrics = metrics
        self._locks = KeyedLocks()

    async def CmdAdd(
        self, request: cni_pb2.CniCmdRequest, context: grpc.aio.ServicerContext
    ) -> cni_pb2.CniCmdResponse:
        return await self._serve("ADD", request)

    async def CmdCheck(
        self, request: cni_pb2.CniCmdRequest, context: grpc.aio.ServicerContext
    ) -> cni_pb2.CniCmdResponse:
        return await self._serve("CHECK", request)

    async def CmdDel(
        self, request: cni_pb2.CniCmdRequest, context: grpc.aio.ServicerContext
    ) -> cni_pb2.CniCmdResponse:
        return await self._serve("DEL", request)

    async def _serve(self, command: str, request: cni_pb2.CniCmdRequest) -> cni_pb2.CniCmdResponse:
        started = time.monotonic()
        response = await self._answer(command, request)
        if self._metrics is not None:
            self._metrics.operation_seconds.labels(command=command).observe(time.monotonic() - started)
            if response.HasField("error"):
                code = ErrorCode(response.error.code).name
                self._metrics.errors.labels(command=command, code=code).inc()
        return response

    async def _answer(self, command: str, request: cni_pb2.CniCmdRequest) -> cni_pb2.CniCmdResponse:
        args = request.cni_args
        started = time.monotonic()
        try:
            call = validate(
                command=command,
                container_id=args.container_id,
                netns=args.netns,
                ifname=args.ifname,
                args=args.args,
                path=args.path,
            )
            config = decode_config(args.network_configuration, command)
            result = await self._run(call, config)
        except CniError as error:
            log.warning("CNI %s %r failed: %s", command, args.container_id, error)
            return cni_pb2.CniCmdResponse(
                error=cni_pb2.Error(code=int(error.code), message=error.msg, details=error.details)
            )
        except Exception as exc:  # a bug must cost one call, not the agent
            log.exception("CNI %s %r failed unexpectedly", command, args.container_id)
            return cni_pb2.CniCmdResponse(
                error=cni_pb2.Error(
                    code=int(ErrorCode.UNKNOWN),
                    message="internal error in the pyantrea agent",
                    details=repr(exc),
                )
            )
        log.debug("CNI %s %r done in %.3fs", command, args.container_id, time.monotonic() - started)
        return cni_pb2.CniCmdResponse(cni_result=result)

    async def _run(self, call: Invocation, config: NetworkConfig) -> bytes:
        if call.command == "ADD":
            await self._wait_for_gate()
        async with self._locks.hold(call.container_id):
            if call.command == "ADD":
                result = await self._pods.add(call, config)
                return encode_result(result, config.cni_version).encode()
            if call.command == "CHECK":
                await self._pods.check(call, config)
            else:
                await self._pods.delete(call, config)
            return b""

    async def _wait_for_gate(self) -> None:
        try:
            await asyncio.wait_for(self._gate.wait(), self._gate_timeout)
        except TimeoutError:
            raise CniError(
                ErrorCode.TRY_AGAIN_LATER,
                "the pyantrea agent has not yet realized its initial network policies; try again later",
                f"pod networking opens once they are installed (waited {self._gate_timeout:g}s)",
            ) from None
