"""The underlay: a network namespace holding a Linux bridge that joins the nodes' namespaces.

Each node namespace gets one end of a veth pair (`eth0`, with the node's address); the other
end sits in the underlay namespace, enslaved to the bridge. Nothing touches the host's own
namespace, so several underlays (concurrent test runs, a lab) coexist; deleting the underlay
namespace removes the bridge and every veth pair with it.
"""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Interface

from lab import netns

BRIDGE = "br0"


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


class Underlay:
    """The bridge namespace `name`; `create()`, `attach()` nodes, `delete()`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def create(self) -> None:
        netns.create(self.name)
        try:
            _ip("-n", self.name, "link", "add", BRIDGE, "type", "bridge")
            _ip("-n", self.name, "link", "set", BRIDGE, "up")
        except BaseException:
            self.delete()
            raise

    def attach(self, node_netns: str, *, port: str, address: IPv4Interface, ifname: str = "eth0") -> None:
        """Join `node_netns` to the bridge: `ifname` holds `address` there, `port` is its bridge port."""
        _ip("-n", self.name, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", node_netns)
        _ip("-n", self.name, "link", "set", port, "master", BRIDGE, "up")
        _ip("-n", node_netns, "addr", "add", str(address), "dev", ifname)
        _ip("-n", node_netns, "link", "set", ifname, "up")

    def set_address(self, address: IPv4Interface) -> None:
        """Give the bridge itself an address (for a service reachable from every node, like an API server).

        The bridge's TX checksum offload is turned off: a node on the userspace datapath reads its
        uplink with a packet socket and would pass on, unfinished, the checksums this namespace's
        kernel leaves to "the hardware" (ping works, TCP from the service does not).
        """
        from pyantrea_netlink.offload import (
            disable_tx_checksum,  # pyroute2 is slow to import; only needed here
        )

        _ip("-n", self.name, "addr", "add", str(address), "dev", BRIDGE)
        netns.call_in(self.name, lambda: disable_tx_checksum(BRIDGE))

    def delete(self) -> None:
        netns.delete(self.name)
