"""The tunnel neighbours of the userspace datapath: OVS knows every peer node's next hop ahead.

On the userspace (netdev) datapath Open vSwitch encapsulates tunnel packets itself, and takes the
underlay MAC of a tunnel's next hop from a neighbour cache of its own, not the kernel's. On a
miss it sends an ARP request and drops the packet: the first packet to every other node, and
again after an entry goes unused for 15 minutes, is lost. So the agent fills that cache itself:
for every peer node it asks the kernel for the next hop (`ip route get`), resolves its MAC with
ARP on the uplink bridge, and sets it with `ovs-appctl tnl/neigh/set` before pods talk to it.
It resolves again every `REFRESH_SECONDS` (catching a peer whose MAC changed, and keeping the
entries from aging out), sooner while a peer does not answer, and after ovs-vswitchd restarts.
OVS cannot forget one entry: when a peer goes, the cache is flushed and refilled at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from ipaddress import IPv4Address
from typing import Protocol

from pyantrea_netlink import NextHop, NodeNetlink

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60.0
"""Well inside OVS's 15 minutes of idle aging."""
RESOLVE_TIMEOUT = 1.5
_RETRY_INITIAL = 1.0
_RETRY_MAX = 30.0


class NeighbourCache(Protocol):
    """Open vSwitch's tunnel neighbour cache (ovs-appctl tnl/neigh/*)."""

    async def set_tunnel_neighbour(self, bridge: str, address: IPv4Address, mac: str) -> None: ...

    async def flush_tunnel_neighbours(self) -> None: ...


class TunnelNeighbours:
    """Keeps OVS's tunnel neighbour cache of `bridge` (the uplink bridge) holding every peer's next hop."""

    def __init__(self, *, netlink: NodeNetlink, cache: NeighbourCache, bridge: str) -> None:
        self._netlink = netlink
        self._cache = cache
        self._bridge = bridge
        self._peers: frozenset[IPv4Address] = frozenset()
        self._installed: dict[IPv4Address, str] = {}
        """Next hop -> MAC, as set in OVS."""
        self._unresolved: frozenset[IPv4Address] = frozenset()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def installed(self) -> dict[IPv4Address, str]:
        """The next hops and MACs set in OVS."""
        return dict(self._installed)

    async def sync(self, peers: Collection[IPv4Address]) -> None:
        """OVS knows the next hop of every address of `peers` (the peer nodes' transport
        addresses) and of no other node; peers already resolved are not asked again. A failure
        is logged and left to `run` to retry: it holds up none of the peers' other work."""
        async with self._lock:
            self._peers = frozenset(peers)
            try:
                await self._apply(resolve_all=False)
            except Exception:
                log.exception("setting the tunnel neighbours failed; retrying soon")
                self._unresolved = self._peers
                self._wake.set()

    def restore(self) -> None:
        """Have `run` fill the cache again at once: ovs-vswitchd restarted with an empty one."""
        self._installed = {}
        self._wake.set()

    async def run(self) -> None:
        """Resolve every peer again each `REFRESH_SECONDS`, sooner while one does not answer."""
        delay = _RETRY_INITIAL
        while True:
            wait = delay if self._unresolved else REFRESH_SECONDS
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                async with self._lock:
                    await self._apply(resolve_all=True)
            except Exception:
                log.exception("refreshing the tunnel neighbours failed; retrying in %.1fs", delay)
                self._unresolved = self._peers
            delay = min(delay * 2, _RETRY_MAX) if self._unresolved else _RETRY_INITIAL

    async def _apply(self, *, resolve_all: bool) -> None:
        hops: dict[IPv4Address, NextHop] = {}
        for peer in self._peers:
            hop = await self._netlink.next_hop(peer)
            if hop.dev == self._bridge:
                hops[hop.address] = hop
            else:
                log.warning("peer node %s is reached through %s, not %s", peer, hop.dev, self._bridge)
        macs = {address: mac for address, mac in self._installed.items() if address in hops}
        ask = set(hops) if resolve_all else hops.keys() - macs.keys()
        for source in {hops[address].src for address in ask}:
            targets = {address for address in ask if hops[address].src == source}
            macs.update(await self._netlink.resolve(self._bridge, source, targets, timeout=RESOLVE_TIMEOUT))
        unresolved = frozenset(hops.keys() - macs.keys())
        if unresolved:
            silent = ", ".join(sorted(map(str, unresolved)))
            log.warning("no ARP answer from %s on %s yet", silent, self._bridge)
            if not self._unresolved:
                self._wake.set()  # the refresh loop now retries with backoff instead of every minute
        self._unresolved = unresolved
        if self._installed.keys() - macs.keys():
            await self._cache.flush_tunnel_neighbours()  # OVS forgets only every entry at once
            self._installed = {}
        for address, mac in sorted(macs.items()):
            if resolve_all or self._installed.get(address) != mac:
                await self._cache.set_tunnel_neighbour(self._bridge, address, mac)
                self._installed[address] = mac
