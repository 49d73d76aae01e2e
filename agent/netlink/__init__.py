"""The agent's netlink edge: veth pairs, addresses, routes and the uplink move, over pyroute2.

Every call runs on a thread that lives inside the target network namespace (entered with
setns, never with pyroute2's forking `NetNS`); `NetlinkClient` exposes it to asyncio through
the `PodNetlink` and `NodeNetlink` protocols.
"""

from agent.netlink.client import NetlinkClient, NodeNetlink, PodNetlink
from agent.netlink.errors import LinkExistsError, LinkNotFoundError, NetnsNotFoundError, NetworkConfigError
from agent.netlink.values import DEFAULT_ROUTE, IpConfig, LinkInfo, Route, VethPair

__all__ = [
    "DEFAULT_ROUTE",
    "IpConfig",
    "LinkExistsError",
    "LinkInfo",
    "LinkNotFoundError",
    "NetlinkClient",
    "NetnsNotFoundError",
    "NetworkConfigError",
    "NodeNetlink",
    "PodNetlink",
    "Route",
    "VethPair",
]
