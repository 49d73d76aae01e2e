"""The agent's netlink edge: veth pairs, addresses, routes and the uplink move, over pyroute2.

Every call runs on a thread that lives inside the target network namespace (entered with
setns, never with pyroute2's forking `NetNS`); `NetlinkClient` exposes it to asyncio through
the `PodNetlink` and `NodeNetlink` protocols.

The client is loaded on first use: pyroute2 takes about 150 ms to import, and light users of
this package (`nsenter`, used by the lab's command line) should not pay for it.
"""

from typing import TYPE_CHECKING, Any

from agent.netlink.errors import LinkExistsError, LinkNotFoundError, NetnsNotFoundError, NetworkConfigError
from agent.netlink.values import DEFAULT_ROUTE, IpConfig, LinkInfo, NextHop, Route, VethPair

if TYPE_CHECKING:
    from agent.netlink.client import NetlinkClient, NodeNetlink, PodNetlink

_CLIENT_NAMES = frozenset({"NetlinkClient", "NodeNetlink", "PodNetlink"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from agent.netlink import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_ROUTE",
    "IpConfig",
    "LinkExistsError",
    "LinkInfo",
    "LinkNotFoundError",
    "NetlinkClient",
    "NetnsNotFoundError",
    "NetworkConfigError",
    "NextHop",
    "NodeNetlink",
    "PodNetlink",
    "Route",
    "VethPair",
]
