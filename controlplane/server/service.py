"""The `pyantrea.controlplane.v1beta1.Controlplane` service: Watch and ReportStatus.

Both calls first check the bearer token (UNAUTHENTICATED without a valid one, before anything
else is read or sent) and that it belongs to the node the request names (PERMISSION_DENIED
otherwise). Watch messages leave as bytes the dispatcher assembled from events encoded once,
so the method's response serializer passes them through.

A watch whose agent falls behind ends with RESOURCE_EXHAUSTED, and every watch ends with
UNAVAILABLE when the controller stops; either way the agent watches again and resyncs. A write
that waits for a slow agent is abandoned as soon as the dispatcher ends the watch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import grpc

from controlplane.auth.tokens import Authenticator, bearer_token
from controlplane.metrics import ControllerMetrics
from controlplane.server.framing import messages
from controlplane.server.watchers import Dispatcher, Watcher, WatcherTerminated
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from pyantrea_api.convert import report_from_proto
from pyantrea_api.reports import StatusReport

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Controlplane"].full_name

ReportSink = Callable[[StatusReport], None]


def _serialized(message: bytes) -> bytes:
    return message


class ControlplaneService:
    """Serves watches from a dispatcher and hands realization reports to `on_report`."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        authenticator: Authenticator,
        *,
        on_report: ReportSink,
        metrics: ControllerMetrics,
    ) -> None:
        self._dispatcher = dispatcher
        self._authenticator = authenticator
        self._on_report = on_report
        self._metrics = metrics

    def rpc_handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "Watch": grpc.unary_stream_rpc_method_handler(
                    self.watch,
                    request_deserializer=pb.WatchRequest.FromString,
                    response_serializer=_serialized,
                ),
                "ReportStatus": grpc.unary_unary_rpc_method_handler(
                    self.report_status,
                    request_deserializer=pb.StatusReport.FromString,
                    response_serializer=pb.StatusReportResponse.SerializeToString,
                ),
            },
        )

    async def watch(self, request: pb.WatchRequest, context: grpc.aio.ServicerContext) -> None:
        node = request.node_name
        await self._authorize(context, node)
        watcher, initial = self._dispatcher.watch(node, context.peer())
        log.info("node %s watching from %s: %d initial events", node, watcher.peer, len(initial) - 1)
        try:
            for message in messages(initial):
                await _send(context, watcher, message)
            watcher.events_sent += len(initial)
            while True:
                message, count = await watcher.next_message()
                await _send(context, watcher, message)
                watcher.events_sent += count
        except WatcherTerminated as ended:
            reason = ended.reason
            code = grpc.StatusCode.RESOURCE_EXHAUSTED if reason.slow else grpc.StatusCode.UNAVAILABLE
            await context.abort(code, reason.message)
        finally:
            self._dispatcher.remove(watcher)
            log.info("node %s stopped watching from %s", node, watcher.peer)

    async def report_status(
        self, request: pb.StatusReport, context: grpc.aio.ServicerContext
    ) -> pb.StatusReportResponse:
        await self._authorize(context, request.node_name)
        self._on_report(report_from_proto(request))
        self._metrics.status_reports.inc()
        return pb.StatusReportResponse()

    async def _authorize(self, context: grpc.aio.ServicerContext, node: str) -> None:
        token = bearer_token(context.invocation_metadata() or ())
        if token is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "no bearer token")
        identity = await self._authenticator.authenticate(token)
        if identity is None:
            log.warning("refused a call from %s: invalid token", context.peer())
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid bearer token")
        if identity.node != node:
            log.warning("refused node %s's token from %s for node %r", identity.node, context.peer(), node)
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"the token is node {identity.node!r}'s, not {node!r}'s"
            )


async def _send(context: grpc.aio.ServicerContext, watcher: Watcher, message: bytes) -> None:
    """Write one message, unless the dispatcher ends the watch first."""
    write = asyncio.ensure_future(context.write(message))
    done, _ = await asyncio.wait((write, watcher.ended), return_when=asyncio.FIRST_COMPLETED)
    if write not in done:
        write.cancel()
        raise WatcherTerminated(watcher.ended.result())
    write.result()
