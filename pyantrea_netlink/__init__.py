"""pyantrea's netlink library: veth pairs, addresses, routes, the uplink move and TX checksum offload,
over pyroute2; the agent's netlink edge, also used by the lab and tests.

Every call runs on a thread that lives inside the target network namespace (entered with
setns, never with pyroute2's forking `NetNS`); `NetlinkClient` exposes it to asyncio through
the `PodNetlink` and `NodeNetlink` protocols.

The client is loaded on first use: pyroute2 takes about 150 ms to import, and light users of
this package (`nsenter`, used by the lab's command line) should not pay for it.
"""

from typing import TYPE_CHECKING, Any

from pyantrea_netlink.errors import LinkExistsError, LinkNotFoundError, NetnsNotFoundError, NetworkConfigError
from pyantrea_netlink.values import DEFAULT_ROUTE, IpConfig, LinkInfo, NextHop, Route, VethPair

if TYPE_CHECKING:
    from pyantrea_netlink.client import NetlinkClient, NodeNetlink, PodNetlink

_CLIENT_NAMES = frozenset({"NetlinkClient", "NodeNetlink", "PodNetlink"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from pyantrea_netlink import client

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
