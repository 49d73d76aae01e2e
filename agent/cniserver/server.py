"""The agent's CNI gRPC server on its unix socket (mode 0600: only root may call it).

What the agent's composition root builds:

    server = CniServer(
        socket_path=config.cni_socket, state_dir=config.cni_state_dir,
        pod_cidr=node_pod_cidr, gateway=gateway_ip, mtu=config.default_mtu,
        datapath=pod_datapath, netlink=netlink_client, gate=startup_gate,
        node_pods=ApiNodePods(api_client, node_name),
    )
    await server.start()   # the stale pod clean-up, then serving; ADDs wait until startup_gate.open()
    ...
    await server.stop()

With `node_pods`, `start()` first removes what pods deleted while the agent was down left
behind (`agent.cniserver.cleanup`), before the socket exists, so no CNI call is in flight.

The socket is bound under a temporary name, restricted to 0600, then renamed into place, so it
is never reachable with looser permissions and a stale socket of an earlier agent is replaced
atomically.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Self

import grpc

from agent.cniserver.cleanup import StalePodCleanup
from agent.cniserver.gate import Gate
from agent.cniserver.ipam import DEFAULT_PLUGIN_DIRS, HostLocalIpam
from agent.cniserver.metrics import CniMetrics
from agent.cniserver.nodepods import NodePods
from agent.cniserver.pods import PodNetwork, PodNetworkSettings
from agent.cniserver.service import DEFAULT_GATE_TIMEOUT_SECONDS, CniService
from agent.pods.api import PodDatapath
from cni.netconf import MTU_RANGE
from proto.cni.v1beta1 import cni_pb2_grpc
from pyantrea_netlink import PodNetlink

log = logging.getLogger(__name__)

IPAM_DIR = "ipam"
"""host-local's data directory, under the state directory."""
_STOP_GRACE_SECONDS = 5.0


class CniServer:
    """Serves `pyantrea.cni.v1beta1.Cni` for the pods of this node's `pod_cidr`."""

    def __init__(
        self,
        *,
        socket_path: Path,
        state_dir: Path,
        pod_cidr: IPv4Network,
        gateway: IPv4Address,
        mtu: int,
        datapath: PodDatapath,
        netlink: PodNetlink,
        gate: Gate,
        gate_timeout: float = DEFAULT_GATE_TIMEOUT_SECONDS,
        ipam_plugin_dirs: Sequence[Path] = DEFAULT_PLUGIN_DIRS,
        metrics: CniMetrics | None = None,
        node_pods: NodePods | None = None,
    ) -> None:
        low, high = MTU_RANGE
        if not low <= mtu <= high:
            raise ValueError(f"mtu {mtu} is outside {low}-{high}")
        self.socket_path = Path(socket_path)
        ipam = HostLocalIpam(
            subnet=pod_cidr,
            gateway=gateway,
            data_dir=Path(state_dir) / IPAM_DIR,
            plugin_dirs=ipam_plugin_dirs,
        )
        pods = PodNetwork(
            PodNetworkSettings(gateway=gateway, mtu=mtu), ipam=ipam, netlink=netlink, datapath=datapath
        )
        self._service = CniService(pods, gate=gate, gate_timeout=gate_timeout, metrics=metrics)
        self._cleanup = (
            StalePodCleanup(node_pods=node_pods, datapath=datapath, network=pods, ipam=ipam, metrics=metrics)
            if node_pods is not None
            else None
        )
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        """Clean up after deleted pods (given `node_pods`), then listen on the socket; raises
        OSError when it cannot be bound."""
        if self._server is not None:
            raise RuntimeError(f"the CNI server on {self.socket_path} is already running")
        if self._cleanup is not None:
            await self._cleanup.run()
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.socket_path.with_name(f".{self.socket_path.name}.{os.getpid()}")
        server = grpc.aio.server()
        cni_pb2_grpc.add_CniServicer_to_server(self._service, server)
        try:
            if server.add_insecure_port(f"unix:{staging}") == 0:
                raise OSError(f"cannot listen on unix socket {staging}")
            os.chmod(staging, 0o600)
            await server.start()
            os.replace(staging, self.socket_path)
        except BaseException:
            await server.stop(None)
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            raise
        self._server = server
        log.info("CNI server listening on %s", self.socket_path)

    async def stop(self, grace: float = _STOP_GRACE_SECONDS) -> None:
        """Stop listening, let calls in flight finish for up to `grace` seconds, remove the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        await server.stop(grace)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        log.info("CNI server on %s stopped", self.socket_path)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
