"""Peer nodes, driven by the Node informer: a tunnel route and an ARP answer each, and a host route.

For every other node with a pod subnet and an InternalIP the agent installs the peer's flows
(ARP responder for its gateway, L3 route into the tunnel with tun_dst = its address) and the
host route `<subnet> via <its gateway> dev gw0 onlink`, so host processes reach its pods; on the
userspace datapath OVS learns the peer's next hop before any pod talks to it (`neighbours`). Nodes
come, go and change at runtime: informer callbacks only record the latest state of each node
and wake the worker (`run`), which applies the changes in batches (one bundle per batch) and
retries failures with backoff. After Open vSwitch restarts, `restore_routes` puts the routes back
on the recreated gw0.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from ipaddress import IPv4Address

from agent.node.local import peer_node
from agent.node.neighbours import TunnelNeighbours
from agent.openflow.client import FlowClient
from agent.openflow.features import PeerNode, peer_flows
from fastpath import Flow
from pyantrea_kube.objects import Node
from pyantrea_netlink import NodeNetlink, Route

log = logging.getLogger(__name__)

_RETRY_INITIAL = 0.5
_RETRY_MAX = 30.0


@dataclass(frozen=True, slots=True)
class PeerContext:
    """What peers' flows and routes depend on, known once br-int is set up."""

    flows: FlowClient
    gateway: str
    """The gateway device (gw0)."""
    gateway_mac: str
    tunnel_ofport: int
    neighbours: TunnelNeighbours | None = None
    """On the userspace datapath: OVS's tunnel neighbour cache, kept holding every peer."""


def flow_owner(node_name: str) -> str:
    return f"node/{node_name}"


def host_route(peer: PeerNode, gateway: str) -> Route:
    return Route(dst=peer.subnet, dev=gateway, gateway=peer.gateway_ip, onlink=True)


class PeerNodes:
    """An `InformerHandler[Node]` for every node, and the worker that tunnels to the peers."""

    def __init__(self, *, local_name: str, netlink: NodeNetlink) -> None:
        self._local_name = local_name
        self._netlink = netlink
        self._context: PeerContext | None = None
        self._pending: dict[str, PeerNode | None] = {}
        self._applied: dict[str, PeerNode] = {}
        self._wake = asyncio.Event()
        self.local_changed = asyncio.Event()
        """Set whenever this node's own object changes (the agent waits for its pod subnet)."""

    # -- InformerHandler ---------------------------------------------------------------------

    def on_add(self, key: str, obj: Node) -> None:
        self._record(obj.name, obj)

    def on_update(self, key: str, old: Node, new: Node) -> None:
        self._record(new.name, new)

    def on_delete(self, key: str, obj: Node) -> None:
        self._record(obj.name, None)

    def on_synced(self) -> None:
        self.local_changed.set()

    def _record(self, name: str, node: Node | None) -> None:
        if name == self._local_name:
            self.local_changed.set()
            return
        self._pending[name] = peer_node(node) if node is not None else None
        self._wake.set()

    # -- the worker --------------------------------------------------------------------------

    def peers(self) -> dict[str, PeerNode]:
        """The peers whose flows and routes are installed."""
        return dict(self._applied)

    async def start(self, context: PeerContext) -> None:
        """Install every peer known so far (one bundle), drop stale routes; `run` takes over from there."""
        self._context = context
        await self._apply_pending()
        # Routes of peers deleted while no agent ran are still on gw0: nothing else routes there.
        wanted = {host_route(peer, context.gateway) for peer in self._applied.values()}
        for route in await self._netlink.routes(context.gateway):
            if route.gateway is not None and dataclasses.replace(route, src=None, metric=None) not in wanted:
                await self._netlink.delete_route(route)
                log.info("deleted the stale route %s", route)

    async def run(self) -> None:
        """Apply changes as they come; retries failures with backoff. Runs until cancelled."""
        delay = _RETRY_INITIAL
        while True:
            await self._wake.wait()
            try:
                await self._apply_pending()
                delay = _RETRY_INITIAL
            except Exception:
                log.exception("applying peer node changes failed; retrying in %.1fs", delay)
                self._wake.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    async def restore_routes(self) -> None:
        """Install the host route of every applied peer again (gw0 was recreated)."""
        context = self._require_context()
        for peer in self._applied.values():
            await self._netlink.replace_route(host_route(peer, context.gateway))

    async def _apply_pending(self) -> None:
        context = self._require_context()
        self._wake.clear()
        batch, self._pending = self._pending, {}
        changed = {name: peer for name, peer in batch.items() if self._applied.get(name) != peer}
        if not changed:
            return
        try:
            await context.flows.sync_many(
                {flow_owner(n): self._flows_of(p, context) for n, p in changed.items()}
            )
            for name, peer in changed.items():
                await self._update_route(self._applied.get(name), peer, context)
                if peer is None:
                    self._applied.pop(name, None)
                else:
                    self._applied[name] = peer
            if context.neighbours is not None:
                await context.neighbours.sync(self._transport_addresses())
        except BaseException:
            # Keep what is not applied for the next attempt, unless a newer state came meanwhile.
            for name, peer in changed.items():
                if self._applied.get(name) != peer:
                    self._pending.setdefault(name, peer)
            raise
        log.info("peer nodes now %s", sorted(self._applied))

    async def _update_route(self, old: PeerNode | None, new: PeerNode | None, context: PeerContext) -> None:
        if old is not None and (new is None or old.subnet != new.subnet):
            await self._netlink.delete_route(host_route(old, context.gateway))
        if new is not None:
            await self._netlink.replace_route(host_route(new, context.gateway))

    def _transport_addresses(self) -> set[IPv4Address]:
        return {peer.node_ip for peer in self._applied.values()}

    def _flows_of(self, peer: PeerNode | None, context: PeerContext) -> list[Flow]:
        if peer is None:
            return []
        return peer_flows(peer, context.gateway_mac, context.tunnel_ofport, context.flows.cookies)

    def _require_context(self) -> PeerContext:
        if self._context is None:
            raise RuntimeError("peer nodes are not started: br-int is not set up yet")
        return self._context
