"""Moving a node's transport address and routes from one device to another, and back.

On the userspace datapath Open vSwitch encapsulates tunnel traffic itself and must own the
device it leaves through: the node's address and routes move from the transport interface
(say eth0) to the internal port of an OVS bridge that eth0 is then attached to (say br-phy).
`move_ip_config(ipr, "eth0", "br-phy")` does that; `move_ip_config(ipr, "br-phy", "eth0")`
undoes it. A source with nothing to move moves nothing, so repeating a move is harmless.
"""

from __future__ import annotations

import dataclasses

from pyroute2 import IPRoute

from pyantrea_netlink.links import add_address, delete_address, list_addresses, set_link
from pyantrea_netlink.rollback import Rollback
from pyantrea_netlink.routes import delete_route, list_routes, replace_route
from pyantrea_netlink.values import IpConfig


def move_ip_config(ipr: IPRoute, src: str, dst: str) -> IpConfig:
    """Move every IPv4 address of `src`, and every route through it, to `dst` (brought up).

    The address is on `dst` before it leaves `src`, so the node stays reachable throughout; if a
    step fails, the steps done are undone and the node is left as it was.
    """
    moved = IpConfig(addresses=list_addresses(ipr, src), routes=list_routes(ipr, src))
    with Rollback() as undo:
        set_link(ipr, dst, up=True)
        for address in moved.addresses:
            add_address(ipr, dst, address)
            undo.push(f"delete {address} from {dst}", lambda a=address: delete_address(ipr, dst, a))
        for route in moved.routes:
            delete_route(ipr, route)
            undo.push(f"restore route {route}", lambda r=route: replace_route(ipr, r))
        for address in moved.addresses:
            delete_address(ipr, src, address)
            undo.push(f"restore {address} on {src}", lambda a=address: add_address(ipr, src, a))
        for route in moved.routes:
            rerouted = dataclasses.replace(route, dev=dst)
            replace_route(ipr, rerouted)
            undo.push(f"delete route {rerouted}", lambda r=rerouted: delete_route(ipr, r))
    return moved
