"""The userspace datapath's uplink: the node's transport interface on an OVS bridge (br-phy).

On the userspace (netdev) datapath Open vSwitch sends tunnel packets through its own native
tunneling, which only works when the node's transport address sits on an OVS bridge's internal
port: with the address left on a plain device the packets are silently lost. So the agent
creates `br-phy` (standalone: a learning switch) with the transport interface's MAC, attaches
the interface to it and moves the node's addresses and routes onto br-phy's internal port. What
moved is recorded in br-phy's external_ids first, which is how the agent restores it after
ovs-vswitchd restarts (recreating the port's device without its address) and how `detach` puts
it back. The system datapath needs none of this: the kernel routes tunnel packets itself.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from pyroute2 import IPRoute

from agent.node.gateway import wait_for_link
from pyantrea_netlink import NodeNetlink, Route
from pyantrea_netlink.thread import NetlinkThread
from pyantrea_ovsdb import (
    AddBridge,
    AddSystemPort,
    DatapathType,
    DeleteBridge,
    FailMode,
    GetBridge,
    Ovsdb,
    SetBridgeExternalIds,
)

UPLINK_BRIDGE = "br-phy"
_INTERFACE = "pyantrea-uplink"
_ADDRESSES = "pyantrea-uplink-addresses"
_ROUTES = "pyantrea-uplink-routes"


class UplinkError(RuntimeError):
    """The uplink bridge cannot be set up as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class UplinkRecord:
    """The transport interface on br-phy and the addresses and routes moved from it."""

    interface: str
    addresses: tuple[IPv4Interface, ...]
    routes: tuple[Route, ...]
    """As they were on the transport interface."""

    def to_external_ids(self) -> dict[str, str]:
        return {
            _INTERFACE: self.interface,
            _ADDRESSES: ",".join(str(a) for a in self.addresses),
            _ROUTES: json.dumps([_route_to_json(r) for r in self.routes]),
        }

    @classmethod
    def from_external_ids(cls, ids: Mapping[str, str]) -> UplinkRecord | None:
        if _INTERFACE not in ids:
            return None
        return cls(
            interface=ids[_INTERFACE],
            addresses=tuple(IPv4Interface(a) for a in ids.get(_ADDRESSES, "").split(",") if a),
            routes=tuple(_route_from_json(r, ids[_INTERFACE]) for r in json.loads(ids.get(_ROUTES) or "[]")),
        )

    def merged(self, addresses: tuple[IPv4Interface, ...], routes: tuple[Route, ...]) -> UplinkRecord:
        return UplinkRecord(
            self.interface,
            tuple(dict.fromkeys((*self.addresses, *addresses))),
            tuple(dict.fromkeys((*self.routes, *routes))),
        )


def _route_to_json(route: Route) -> dict[str, object]:
    return {
        "dst": str(route.dst),
        "gateway": str(route.gateway) if route.gateway else None,
        "onlink": route.onlink,
        "src": str(route.src) if route.src else None,
        "metric": route.metric,
    }


def _route_from_json(data: dict[str, object], dev: str) -> Route:
    return Route(
        dst=IPv4Network(str(data["dst"])),
        dev=dev,
        gateway=IPv4Address(str(data["gateway"])) if data.get("gateway") else None,
        onlink=bool(data.get("onlink")),
        src=IPv4Address(str(data["src"])) if data.get("src") else None,
        metric=int(str(data["metric"])) if data.get("metric") is not None else None,
    )


async def interface_with_address(netns: Path | None, address: IPv4Address) -> str | None:
    """The device holding `address` in the namespace `netns` (None: the agent's), if any."""

    def find(ipr: IPRoute) -> str | None:
        for message in ipr.addr("dump", family=socket.AF_INET):
            if message.get("address") == str(address):
                (link,) = ipr.link("get", index=message["index"])
                return str(link.get("ifname"))
        return None

    thread = NetlinkThread(netns, name="netlink uplink lookup")
    try:
        return await thread.call(find)
    finally:
        thread.close()


class Uplink:
    """br-phy in the node's namespace `netns` (None: the agent's own)."""

    def __init__(
        self, ovsdb: Ovsdb, netlink: NodeNetlink, netns: Path | None, *, bridge: str = UPLINK_BRIDGE
    ) -> None:
        self._ovsdb = ovsdb
        self._netlink = netlink
        self._netns = netns
        self.bridge = bridge

    async def record(self) -> UplinkRecord | None:
        info = await self._ovsdb.execute(GetBridge(self.bridge))
        return None if info is None else UplinkRecord.from_external_ids(info.external_ids)

    async def attach(self, *, transport: str | None, node_ip: IPv4Address) -> UplinkRecord:
        """Put the transport interface (`transport`, or the device holding `node_ip`) on br-phy."""
        record = await self.record()
        ifname = transport or (record.interface if record else None)
        if ifname is None:
            ifname = await interface_with_address(self._netns, node_ip)
            if ifname is None:
                raise UplinkError(
                    f"no device holds the node address {node_ip}: set transportInterface in the agent config"
                )
        if ifname == self.bridge:
            raise UplinkError(
                f"the node address {node_ip} is on {self.bridge} already, which records no uplink"
            )
        if record is not None and record.interface != ifname:
            raise UplinkError(f"{self.bridge} carries {record.interface}, not transportInterface {ifname}")
        link = await self._netlink.link(ifname)
        if link is None:
            raise UplinkError(f"transport interface {ifname!r} does not exist")
        # br-phy takes the transport interface's MAC, so the node's address keeps its MAC when it
        # moves: peers' neighbour caches (their kernels', their OVS tunnels') stay right.
        await self._ovsdb.transact(
            AddBridge(
                self.bridge, datapath_type=DatapathType.NETDEV, fail_mode=FailMode.STANDALONE, hwaddr=link.mac
            ),
            AddSystemPort(self.bridge, ifname),
        )
        await wait_for_link(self._netlink, self.bridge, timeout=10.0)
        routes = await self._netlink.routes(ifname)
        base = record or UplinkRecord(ifname, (), ())
        record = base.merged(link.addresses, routes)
        await self._ovsdb.execute(SetBridgeExternalIds(self.bridge, record.to_external_ids()))
        await self._netlink.move_ip_config(ifname, self.bridge)
        await self._apply(record)
        return record

    async def restore(self) -> None:
        """Re-apply the recorded addresses and routes to br-phy (after ovs-vswitchd restarted)."""
        record = await self.record()
        if record is not None:
            await wait_for_link(self._netlink, self.bridge, timeout=10.0)
            await self._apply(record)

    async def detach(self) -> None:
        """Move the addresses and routes back to the transport interface and delete br-phy."""
        record = await self.record()
        if record is None:
            return
        await self._netlink.move_ip_config(self.bridge, record.interface)
        for address in record.addresses:
            await self._netlink.add_address(record.interface, address)
        for route in record.routes:
            await self._netlink.replace_route(route)
        await self._ovsdb.execute(DeleteBridge(self.bridge))

    async def _apply(self, record: UplinkRecord) -> None:
        await self._netlink.set_link(self.bridge, up=True)
        for address in record.addresses:
            await self._netlink.add_address(self.bridge, address)
        for route in record.routes:
            await self._netlink.replace_route(dataclasses.replace(route, dev=self.bridge))
