"""Helpers for the controller service tests: a controller in-process on the test's event loop,
the lab's API stand-in in a thread (reached with the real `kubernetes` client), and agents as
real `ControllerClient`s over TLS on 127.0.0.1.

Each test runs its own event loop (`run`); what it starts, it stops in `finally` blocks or
through the fixtures here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from kubernetes.client import ApiClient

from agent.controller.client import ClientSettings, ControllerClient
from agent.policy.dirty import Dirty
from agent.policy.store import Change, PolicySet, PolicySnapshot, PolicyStore, StateSource
from controlplane.auth.shared import node_token
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from proto.controlplane.v1beta1 import controlplane_pb2_grpc as pb_grpc
from pyantrea_api.ipnet import format_ip
from pyantrea_api.objects import InternalNetworkPolicy
from pyantrea_api.server import SERVER_NAME
from pyantrea_config.controller import ControllerConfig
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import CLUSTER_NETWORK_POLICIES, NAMESPACES, NETWORK_POLICIES, NODES, PODS
from pyantrea_kube.rest import RestClient
from pyantrea_kube.writes import patch_status
from tests.kubecluster import LoopbackCluster, wait_for_default_account

T = TypeVar("T")

SECRET = b"controlplane-test-secret"
FAST = ClientSettings(backoff_initial=0.05, backoff_max=0.5, fallback_after=1.0, report_interval=0.05)


def run(coro: Coroutine[Any, Any, None], timeout: float = 90) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


async def until(condition: Callable[[], Any], what: str, timeout: float = 30) -> None:
    """Wait until `condition()` is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def eventually(
    fetch: Callable[[], Awaitable[T]], condition: Callable[[T], bool], what: str, timeout: float = 30
) -> T:
    """Fetch until `condition` holds for what `fetch` returns, and return that; fail naming
    `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition(value := await fetch()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        await asyncio.sleep(0.02)
    return value


@asynccontextmanager
async def running(*agents: ControllerClient) -> AsyncIterator[None]:
    """Run the agent clients as tasks for the block, then cancel them."""
    tasks = [asyncio.create_task(agent.run(), name=f"agent-{agent.node_name}") for agent in agents]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Cluster:
    """A real control plane, an admin's client of it, and where a controller keeps its files."""

    kubernetes: LoopbackCluster
    kubeconfig: Path
    api_client: ApiClient
    rest: RestClient
    tmp_path: Path

    def controller_config(self, **overrides: Any) -> ControllerConfig:
        secret = self.tmp_path / "secret"
        secret.write_bytes(SECRET)
        config = ControllerConfig(
            kubeconfig=self.kubeconfig,
            api_port=0,
            api_bind_address=ipaddress.ip_address("127.0.0.1"),
            http_port=0,
            tls_cert_dir=self.tmp_path / "tls",
            ca_publish_file=self.tmp_path / "ca.crt",
            auth_token_file=secret,
        )
        return replace(config, **overrides)

    def token_file(self, node: str, token: str | None = None) -> Path:
        path = self.tmp_path / f"token-{node}"
        path.write_text(token if token is not None else node_token(SECRET, node))
        return path

    def agent(
        self,
        node: str,
        port: int,
        listener: Recorder | None = None,
        *,
        token: str | None = None,
        state_dir: Path | None = None,
        settings: ClientSettings = FAST,
    ) -> ControllerClient:
        store = PolicyStore()
        store.add_listener(listener or Recorder())
        client = ControllerClient(
            node_name=node,
            target=f"127.0.0.1:{port}",
            ca_file=self.tmp_path / "ca.crt",
            token_file=self.token_file(node, token),
            store=store,
            state_dir=state_dir,
            settings=settings,
        )
        if isinstance(listener, Realizer):
            listener.client = client
        return client

    def channel(self, port: int, *, small_window: bool = False) -> grpc.aio.Channel:
        """A TLS channel to the controller, as agents open it; `small_window` keeps HTTP/2 flow
        control at 16 KiB, so a reader that stops reading holds the server back at once."""
        options: list[tuple[str, Any]] = [
            ("grpc.ssl_target_name_override", SERVER_NAME),
            ("grpc.max_receive_message_length", -1),
            ("grpc.use_local_subchannel_pool", 1),
        ]
        if small_window:
            options += [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 16384)]
        credentials = grpc.ssl_channel_credentials((self.tmp_path / "ca.crt").read_bytes())
        return grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials, options=options)

    # -- objects, through the real client ---------------------------------------------------------

    async def create(self, *objects: dict[str, Any]) -> None:
        await asyncio.to_thread(self._create, objects)

    def _create(self, objects: Sequence[dict[str, Any]]) -> None:
        for obj in objects:
            kind = obj["kind"]
            meta = obj["metadata"]
            if kind == "Pod":
                status = obj.get("status")
                self.rest.create(PODS, meta["namespace"], obj)
                if status:
                    patch_body = {"status": status}
                    self.rest.patch(PODS, meta["namespace"], meta["name"], patch_body, subresource="status")
            elif kind == "NetworkPolicy":
                self.rest.create(NETWORK_POLICIES, meta["namespace"], obj)
            elif kind == "ClusterNetworkPolicy":
                self.rest.create(CLUSTER_NETWORK_POLICIES, None, obj)
            elif kind == "Namespace":
                self.rest.create(NAMESPACES, None, obj)
                wait_for_default_account(self.rest, meta["name"])
            else:
                self.rest.create(NODES, None, obj)

    async def delete(self, resource: Any, namespace: str | None, name: str) -> None:
        """Delete at once: no kubelet runs here to confirm a pod's graceful deletion."""
        body = {"gracePeriodSeconds": 0}
        await asyncio.to_thread(self.rest.delete, resource, namespace, name, body=body)

    async def patch(self, resource: Any, namespace: str | None, name: str, body: dict[str, Any]) -> None:
        await asyncio.to_thread(self.rest.patch, resource, namespace, name, body)

    async def set_pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        await patch_status(self.rest, PODS, namespace, name, status)

    async def get(self, resource: Any, namespace: str | None, name: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.rest.get, resource, namespace, name)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A real control plane on loopback, and an admin's client of it."""
    with LoopbackCluster(tmp_path / "kubernetes") as kubernetes:
        client = load_api_client(kubernetes.admin_kubeconfig)
        try:
            yield Cluster(kubernetes, kubernetes.admin_kubeconfig, client, RestClient(client), tmp_path)
        finally:
            client.close()


def raw_watch(channel: grpc.aio.Channel, node: str, token: str | None) -> grpc.aio.UnaryStreamCall:
    """A Watch call as a bare gRPC client makes it, with `token` as its bearer token (or none)."""
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    return pb_grpc.ControlplaneStub(channel).Watch(pb.WatchRequest(node_name=node), metadata=metadata)


class Recorder:
    """A listener of the agent's policy store that records what the client writes into it."""

    def __init__(self) -> None:
        self.replaces: list[tuple[PolicySnapshot, StateSource]] = []
        self.changes: list[Change] = []

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource, dirty: Dirty) -> None:
        self.replaces.append((snapshot, source))

    def on_changes(self, changes: Sequence[Change], dirty: Dirty) -> None:
        self.changes.extend(changes)


class Realizer(Recorder):
    """A policy store listener that, like the policy agent, reports every policy it gets as realized
    (or, for the Kubernetes policies named in `failing`, as failed)."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.client: ControllerClient | None = None
        self._failing = failing

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource, dirty: Dirty) -> None:
        super().on_replace(snapshot, source, dirty)
        for policy in snapshot.policies.values():
            self._realize(policy)

    def on_changes(self, changes: Sequence[Change], dirty: Dirty) -> None:
        super().on_changes(changes, dirty)
        for change in changes:
            if isinstance(change, PolicySet):
                self._realize(change.policy)

    def _realize(self, policy: InternalNetworkPolicy) -> None:
        assert self.client is not None
        error = "no flows for you" if policy.source_ref.name in self._failing else None
        self.client.reporter.report_realized(policy.name, policy.generation, error)


def policy_refs(snapshot: PolicySnapshot) -> set[str]:
    """`namespace/name` of the Kubernetes policy of every internal policy."""
    return {f"{p.source_ref.namespace}/{p.source_ref.name}" for p in snapshot.policies.values()}


def members(snapshot: PolicySnapshot, *, applied_to: bool = False) -> dict[str, set[str]]:
    """Each group's members as `namespace/name@ip`."""
    groups = snapshot.applied_to_groups if applied_to else snapshot.address_groups
    return {
        name: {f"{m.namespace}/{m.name}@{','.join(format_ip(ip) for ip in m.ips)}" for m in group.members}
        for name, group in groups.items()
    }
