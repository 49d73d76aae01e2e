"""Who may watch: TLS with the published CA, a node-bound bearer token, and only one's own node.

A client without a valid token gets UNAUTHENTICATED before any data; a valid token of node A
gets PERMISSION_DENIED for node B, on Watch and on ReportStatus alike.
"""

from __future__ import annotations

import grpc
import pytest

from controlplane.app import Controller
from controlplane.auth.shared import node_token
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from proto.controlplane.v1beta1 import controlplane_pb2_grpc as pb_grpc
from tests.controlplane import k8s
from tests.controlplane.serving import SECRET, Cluster, cluster, raw_watch, run

__all__ = ["cluster"]

OBJECTS = [
    k8s.namespace("prod"),
    k8s.node("n1"),
    k8s.node("n2"),
    k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
    k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.2.1"),
    k8s.policy("prod", "deny-web", k8s.labels(app="web"), policy_types=["Ingress"]),
]


async def _refused(call: grpc.aio.UnaryStreamCall) -> tuple[grpc.StatusCode, list[pb.WatchBatch]]:
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for batch in call:
            received.append(batch)
    return refused.value.code(), received


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param(None, grpc.StatusCode.UNAUTHENTICATED, id="missing"),
        pytest.param("n1:" + "0" * 64, grpc.StatusCode.UNAUTHENTICATED, id="forged"),
        pytest.param(node_token(b"another secret", "n1"), grpc.StatusCode.UNAUTHENTICATED, id="other-secret"),
        pytest.param(SECRET.decode(), grpc.StatusCode.UNAUTHENTICATED, id="the-secret-itself"),
        pytest.param(node_token(SECRET, "n2"), grpc.StatusCode.PERMISSION_DENIED, id="another-node"),
    ],
)
def test_watch_refused_without_data(cluster: Cluster, token: str | None, code: grpc.StatusCode) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        async with (
            Controller(cluster.controller_config()) as controller,
            cluster.channel(controller.api_port) as channel,
        ):
            refused, received = await _refused(raw_watch(channel, "n1", token))
            assert (refused, received) == (code, [])
            # The same channel with n1's own token works, so the refusal was the token's.
            call = raw_watch(channel, "n1", node_token(SECRET, "n1"))
            first = await call.read()
            assert [e.type for e in first.events][-1] == pb.INITIAL_EVENTS_END
            assert any(e.kind == pb.NETWORK_POLICY for e in first.events)
            call.cancel()

    run(scenario())


def test_report_status_needs_the_nodes_own_token(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        async with (
            Controller(cluster.controller_config()) as controller,
            cluster.channel(controller.api_port) as channel,
        ):
            stub = pb_grpc.ControlplaneStub(channel)
            report = pb.StatusReport(node_name="n2", full=True)
            for token, code in [
                (None, grpc.StatusCode.UNAUTHENTICATED),
                (node_token(SECRET, "n1"), grpc.StatusCode.PERMISSION_DENIED),
            ]:
                metadata = (("authorization", f"Bearer {token}"),) if token else None
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.ReportStatus(report, metadata=metadata)
                assert refused.value.code() == code
            metadata = (("authorization", f"Bearer {node_token(SECRET, 'n2')}"),)
            assert await stub.ReportStatus(report, metadata=metadata) == pb.StatusReportResponse()

    run(scenario())


def test_a_client_that_does_not_trust_the_ca_gets_nothing(cluster: Cluster) -> None:
    async def scenario() -> None:
        await cluster.create(*OBJECTS)
        async with Controller(cluster.controller_config()) as controller:
            options = [("grpc.ssl_target_name_override", "pyantrea.kube-system.svc")]
            credentials = grpc.ssl_channel_credentials()  # the system CAs, not the controller's
            target = f"127.0.0.1:{controller.api_port}"
            async with grpc.aio.secure_channel(target, credentials, options=options) as channel:
                code, received = await _refused(raw_watch(channel, "n1", node_token(SECRET, "n1")))
                assert (code, received) == (grpc.StatusCode.UNAVAILABLE, [])
            async with grpc.aio.insecure_channel(target) as channel:
                code, received = await _refused(raw_watch(channel, "n1", node_token(SECRET, "n1")))
                assert (code, received) == (grpc.StatusCode.UNAVAILABLE, [])

    run(scenario())
