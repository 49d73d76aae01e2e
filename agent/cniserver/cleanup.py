"""The start-up clean-up: remove what pods deleted while the agent was down left behind.

    cleanup = StalePodCleanup(node_pods=..., datapath=..., network=..., ipam=..., metrics=...)
    await cleanup.run()   # before the CNI service listens

It lists the Pods bound to this node, removes every stale pod port with its flows and host veth
(`PodNetwork.teardown`), then releases through host-local every address that neither a
remaining pod port nor a Pod's status holds (the decisions are `agent.cniserver.stale`'s).

It runs before the CNI server binds its socket, so no ADD, DEL or CHECK is in flight: an ADD
that has reserved an address but not yet attached its port could otherwise lose the address to
the clean-up. The price is that CNI calls wait for one Pod list at start-up. When the list
cannot be had the clean-up is skipped (logged): pod networking matters more than a leak, which
the next start-up removes. A failure to remove one pod's leftovers is logged, and the rest go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from agent.cniserver.ipam import Holder, HostLocalIpam
from agent.cniserver.metrics import CniMetrics
from agent.cniserver.nodepods import NodePods
from agent.cniserver.pods import PodNetwork
from agent.cniserver.stale import Address, StalePort, held_addresses, releasable, stale_ports
from agent.pods.api import PodDatapath
from pyantrea_kube.objects import Pod

log = logging.getLogger(__name__)

LIST_ATTEMPTS = 3
LIST_RETRY_SECONDS = 1.0
"""The first pause between list attempts; it doubles after each."""


class StalePodCleanup:
    """One run of the clean-up over this node's datapath and host-local state."""

    def __init__(
        self,
        *,
        node_pods: NodePods,
        datapath: PodDatapath,
        network: PodNetwork,
        ipam: HostLocalIpam,
        metrics: CniMetrics | None = None,
    ) -> None:
        self._node_pods = node_pods
        self._datapath = datapath
        self._network = network
        self._ipam = ipam
        self._metrics = metrics

    async def run(self) -> None:
        pods = await self._list_pods()
        if pods is None:
            return
        removed = 0
        for stale in stale_ports(await self._datapath.pod_ports(), pods):
            removed += await self._remove(stale)
        held = held_addresses(await self._datapath.pod_ports(), pods)
        released = 0
        for holder, addresses in releasable(await self._ipam.allocations(), held).items():
            released += await self._release(holder, addresses)
        self._count("interface", removed)
        self._count("address", released)
        log.info(
            "stale pod clean-up: %d pods on this node, %d interfaces removed, %d addresses released",
            len(pods),
            removed,
            released,
        )

    async def _list_pods(self) -> list[Pod] | None:
        attempt, pause = 1, LIST_RETRY_SECONDS
        while True:
            try:
                return await self._node_pods.list()
            except Exception as exc:  # whatever the API edge raises costs the clean-up, not the agent
                if attempt == LIST_ATTEMPTS:
                    log.error("stale pod clean-up skipped: cannot list this node's pods: %s", exc)
                    return None
                log.warning("cannot list this node's pods (%s); retrying in %gs", exc, pause)
            await asyncio.sleep(pause)
            attempt, pause = attempt + 1, pause * 2

    async def _remove(self, stale: StalePort) -> int:
        """1 once the port, its flows and its veth are gone; 0 (logged) if that failed."""
        port = stale.port
        pod = f"{port.pod_namespace}/{port.pod_name}"
        try:
            await self._network.teardown(port.container_id, port.port)
        except Exception:
            log.exception("cannot remove port %s of pod %s, which %s", port.port, pod, stale.reason)
            return 0
        log.info(
            "pod %s %s: removed its port %s, flows and veth (container %s)",
            pod,
            stale.reason,
            port.port,
            port.container_id,
        )
        return 1

    async def _release(self, holder: Holder, addresses: Sequence[Address]) -> int:
        """How many addresses were released: all of the holder's, or none (logged)."""
        listed = ", ".join(str(address) for address in addresses)
        try:
            await self._ipam.release_holder(holder)
        except Exception:
            log.exception("cannot release %s of container %s", listed, holder.container_id)
            return 0
        log.info("released %s of container %s: no pod holds it", listed, holder.container_id)
        return len(addresses)

    def _count(self, kind: str, amount: int) -> None:
        if self._metrics is not None and amount:
            self._metrics.stale_cleaned.labels(kind=kind).inc(amount)
