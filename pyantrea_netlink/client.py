"""The asyncio face of the netlink edge: the `PodNetlink` and `NodeNetlink` protocols and
`NetlinkClient`, which implements both on `NetlinkThread`s.

The node's namespace (the agent's own, or the one given) has one long-lived thread with a
cached socket. Work in a pod's namespace gets a thread of its own that enters the namespace,
does the one job and exits. Coroutines only await futures: no netlink call runs on the event
loop, and nothing forks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Sequence
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Protocol, Self, TypeVar

from pyroute2 import IPRoute

from pyantrea_netlink import arp
from pyantrea_netlink.errors import LinkNotFoundError
from pyantrea_netlink.links import (
    add_address,
    create_veth,
    delete_address,
    delete_link,
    get_link,
    ignore_arp_for_local_addresses,
    set_link,
)
from pyantrea_netlink.nsenter import open_netns
from pyantrea_netlink.pod import configure_interface
from pyantrea_netlink.rollback import Rollback
from pyantrea_netlink.routes import delete_route, list_routes, next_hop, replace_route
from pyantrea_netlink.thread import Job, NetlinkThread
from pyantrea_netlink.uplink import move_ip_config
from pyantrea_netlink.values import IpConfig, LinkInfo, NextHop, Route, VethPair

T = TypeVar("T")


class PodNetlink(Protocol):
    """What the CNI service needs: a pod's veth pair and its interface inside the pod."""

    async def create_veth(
        self, *, host_ifname: str, netns: Path, ifname: str, mtu: int, host_answers_arp: bool = True
    ) -> VethPair:
        """Create a veth pair, `host_ifname` on the node and `ifname` in the pod's `netns`, both up.
        With `host_answers_arp` False the node's stack answers no ARP on the host end (the pod's
        gateway is elsewhere: `ignore_arp_for_local_addresses`).

        Raises `LinkExistsError` if either name is taken and `NetnsNotFoundError` if `netns`
        does not exist; leaves nothing behind on failure.
        """
        ...

    async def configure_interface(
        self, *, netns: Path, ifname: str, addresses: Sequence[IPv4Interface], routes: Sequence[Route]
    ) -> LinkInfo:
        """Give the pod's interface its addresses and routes and announce them (gratuitous ARP)."""
        ...

    async def link(self, ifname: str, *, netns: Path | None = None) -> LinkInfo | None:
        """Device `ifname` (in `netns`, or the node's namespace) with its addresses, if it exists."""
        ...

    async def delete_link(self, ifname: str, *, netns: Path | None = None) -> None:
        """Delete device `ifname`; a missing device is success (a missing `netns` is not)."""
        ...


class NodeNetlink(Protocol):
    """What the agent's datapath needs on the node: gateway, routes, the uplink move, neighbours."""

    async def link(self, ifname: str, *, netns: Path | None = None) -> LinkInfo | None: ...

    async def set_link(
        self, ifname: str, *, up: bool | None = None, mtu: int | None = None, mac: str | None = None
    ) -> None:
        """Change what is given of the device's state, MTU and MAC."""
        ...

    async def add_address(self, ifname: str, address: IPv4Interface) -> None:
        """Give the device the address (idempotent)."""
        ...

    async def delete_address(self, ifname: str, address: IPv4Interface) -> None:
        """Take the address away (a missing one is success)."""
        ...

    async def replace_route(self, route: Route) -> None:
        """Install the route, replacing one to the same destination and metric."""
        ...

    async def delete_route(self, route: Route) -> None:
        """Remove the route (a missing one is success)."""
        ...

    async def routes(self, ifname: str) -> tuple[Route, ...]:
        """The routes through `ifname`, but the kernel's own subnet routes."""
        ...

    async def move_ip_config(self, src: str, dst: str) -> IpConfig:
        """Move the addresses and routes of `src` to `dst`; returns what moved."""
        ...

    async def next_hop(self, dst: IPv4Address) -> NextHop:
        """How the kernel reaches `dst`: device, neighbour and source address (`ip route get`)."""
        ...

    async def resolve(
        self, ifname: str, sender: IPv4Address, targets: Collection[IPv4Address], *, timeout: float
    ) -> dict[IPv4Address, str]:
        """The MAC of each of `targets` that answers ARP on `ifname` within `timeout` seconds."""
        ...


class NetlinkClient:
    """`PodNetlink` and `NodeNetlink` over pyroute2, on threads bound to namespaces.

    `netns` is the node's namespace; None means the one the agent runs in.
    """

    def __init__(self, netns: Path | None = None) -> None:
        self._node = NetlinkThread(netns, name="netlink node")
        # ARP waits for answers for up to a second or so: on a thread of its own, it holds up no
        # other netlink work of the node.
        self._arp = NetlinkThread(netns, name="netlink arp")

    async def close(self) -> None:
        self._node.close()
        self._arp.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _in(self, netns: Path | None, job: Job[T]) -> T:
        if netns is None:
            return await self._node.call(job)
        thread = NetlinkThread(netns, name=f"netlink {netns}")
        try:
            return await thread.call(job)
        finally:
            thread.close()

    # -- PodNetlink ----------------------------------------------------------------------------

    async def create_veth(
        self, *, host_ifname: str, netns: Path, ifname: str, mtu: int, host_answers_arp: bool = True
    ) -> VethPair:
        def create(ipr: IPRoute) -> LinkInfo:
            fd = open_netns(netns)
            try:
                create_veth(ipr, host_ifname, peer=ifname, peer_netns_fd=fd, mtu=mtu)
            finally:
                os.close(fd)
            with Rollback() as undo:
                undo.push(f"delete {host_ifname}", lambda: delete_link(ipr, host_ifname))
                if not host_answers_arp:
                    ignore_arp_for_local_addresses(host_ifname)
                set_link(ipr, host_ifname, up=True)
                return _require(get_link(ipr, host_ifname), host_ifname, None)

        def bring_up(ipr: IPRoute) -> LinkInfo:
            set_link(ipr, ifname, up=True)
            return _require(get_link(ipr, ifname), ifname, netns)

        host = await self._in(None, create)
        try:
            container = await self._in(netns, bring_up)
        except BaseException:
            await asyncio.shield(self._in(None, lambda ipr: delete_link(ipr, host_ifname)))
            raise
        return VethPair(host=host, container=container)

    async def configure_interface(
        self, *, netns: Path, ifname: str, addresses: Sequence[IPv4Interface], routes: Sequence[Route]
    ) -> LinkInfo:
        return await self._in(netns, lambda ipr: configure_interface(ipr, ifname, addresses, routes))

    async def link(self, ifname: str, *, netns: Path | None = None) -> LinkInfo | None:
        return await self._in(netns, lambda ipr: get_link(ipr, ifname))

    async def delete_link(self, ifname: str, *, netns: Path | None = None) -> None:
        await self._in(netns, lambda ipr: delete_link(ipr, ifname))

    # -- NodeNetlink ---------------------------------------------------------------------------

    async def set_link(
        self, ifname: str, *, up: bool | None = None, mtu: int | None = None, mac: str | None = None
    ) -> None:
        await self._node.call(lambda ipr: set_link(ipr, ifname, up=up, mtu=mtu, mac=mac))

    async def add_address(self, ifname: str, address: IPv4Interface) -> None:
        await self._node.call(lambda ipr: add_address(ipr, ifname, address))

    async def delete_address(self, ifname: str, address: IPv4Interface) -> None:
        await self._node.call(lambda ipr: delete_address(ipr, ifname, address))

    async def replace_route(self, route: Route) -> None:
        await self._node.call(lambda ipr: replace_route(ipr, route))

    async def delete_route(self, route: Route) -> None:
        await self._node.call(lambda ipr: delete_route(ipr, route))

    async def routes(self, ifname: str) -> tuple[Route, ...]:
        return await self._node.call(lambda ipr: list_routes(ipr, ifname))

    async def move_ip_config(self, src: str, dst: str) -> IpConfig:
        return await self._node.call(lambda ipr: move_ip_config(ipr, src, dst))

    async def next_hop(self, dst: IPv4Address) -> NextHop:
        return await self._node.call(lambda ipr: next_hop(ipr, dst))

    async def resolve(
        self, ifname: str, sender: IPv4Address, targets: Collection[IPv4Address], *, timeout: float
    ) -> dict[IPv4Address, str]:
        return await self._arp.call(lambda _: arp.resolve(ifname, sender, targets, timeout=timeout))


def _require(link: LinkInfo | None, ifname: str, netns: Path | None) -> LinkInfo:
    if link is None:
        where = f" in {netns}" if netns is not None else ""
        raise LinkNotFoundError(f"{ifname!r} disappeared{where} right after it was created")
    return link
