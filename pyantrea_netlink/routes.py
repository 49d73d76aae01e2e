"""IPv4 routes of the main table: list a device's, replace (idempotent add), delete.

Routes the kernel makes by itself for a device's own subnets (protocol "kernel") are left out
of listings: they come and go with the addresses. Routes added here are marked protocol
"static", as `ip route add` marks them.
"""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from pyroute2 import IPRoute

from pyantrea_netlink.errors import NetworkConfigError, explained
from pyantrea_netlink.links import find_index, link_index
from pyantrea_netlink.values import NextHop, Route

_MAIN_TABLE = 254
_RTPROT_KERNEL = 2
_RTPROT_STATIC = 4
_SCOPE_UNIVERSE = 0
_SCOPE_LINK = 253
_RTNH_F_ONLINK = 0x4


def list_routes(ipr: IPRoute, ifname: str) -> tuple[Route, ...]:
    """The main-table IPv4 routes through `ifname`, but the kernel's own subnet routes."""
    index = link_index(ipr, ifname)
    with explained(f"list the routes of {ifname}"):
        messages = ipr.route("dump", oif=index, table=_MAIN_TABLE, family=socket.AF_INET)
    return tuple(_route(ifname, m) for m in messages if m["proto"] != _RTPROT_KERNEL)


def _route(ifname: str, message: Any) -> Route:
    gateway, src, metric = message.get("gateway"), message.get("prefsrc"), message.get("priority")
    return Route(
        dst=IPv4Network(f"{message.get('dst') or '0.0.0.0'}/{message['dst_len']}"),
        dev=ifname,
        gateway=IPv4Address(gateway) if gateway else None,
        onlink=bool(message["flags"] & _RTNH_F_ONLINK),
        src=IPv4Address(src) if src else None,
        metric=metric,
    )


def replace_route(ipr: IPRoute, route: Route) -> None:
    """Install `route`, replacing a route to the same destination and metric."""
    spec: dict[str, Any] = {
        "dst": str(route.dst),
        "oif": link_index(ipr, route.dev),
        "table": _MAIN_TABLE,
        "proto": _RTPROT_STATIC,
        "scope": _SCOPE_UNIVERSE if route.gateway is not None else _SCOPE_LINK,
    }
    if route.gateway is not None:
        spec["gateway"] = str(route.gateway)
    if route.onlink:
        spec["flags"] = _RTNH_F_ONLINK
    if route.src is not None:
        spec["prefsrc"] = str(route.src)
    if route.metric is not None:
        spec["priority"] = route.metric
    with explained(f"add route {route}"):
        ipr.route("replace", **spec)


def delete_route(ipr: IPRoute, route: Route) -> None:
    """Remove `route`; a route (or device) that is not there is success."""
    index = find_index(ipr, route.dev)
    if index is None:
        return
    spec: dict[str, Any] = {"dst": str(route.dst), "oif": index, "table": _MAIN_TABLE}
    if route.gateway is not None:
        spec["gateway"] = str(route.gateway)
    if route.metric is not None:
        spec["priority"] = route.metric
    with explained(f"delete route {route}", ignore=(errno.ESRCH, errno.ENODEV)):
        ipr.route("del", **spec)


def next_hop(ipr: IPRoute, dst: IPv4Address) -> NextHop:
    """The device, neighbour and source address the kernel uses to reach `dst` (`ip route get`)."""
    with explained(f"look up the route to {dst}"):
        (message,) = ipr.route("get", dst=str(dst))
    (link,) = ipr.link("get", index=message.get("oif"))
    gateway, src = message.get("gateway"), message.get("prefsrc")
    if src is None:
        ifname = link.get("ifname")
        raise NetworkConfigError(f"the route to {dst} has no source address (no address on {ifname})")
    return NextHop(
        dev=str(link.get("ifname")), address=IPv4Address(gateway) if gateway else dst, src=IPv4Address(src)
    )
