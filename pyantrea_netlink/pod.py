"""A pod's interface inside its namespace: addresses, routes, link up, gratuitous ARP.

Runs on the pod's `NetlinkThread`. This is CNI ADD's last step, done after the pod's flows are
installed so that the gratuitous ARP is not dropped by the bridge.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from ipaddress import IPv4Interface

from pyroute2 import IPRoute

from pyantrea_netlink.arp import send_gratuitous_arp
from pyantrea_netlink.errors import LinkNotFoundError
from pyantrea_netlink.links import add_address, delete_address, get_link, list_addresses, set_link
from pyantrea_netlink.rollback import Rollback
from pyantrea_netlink.routes import delete_route, replace_route
from pyantrea_netlink.values import LinkInfo, Route

log = logging.getLogger(__name__)


def configure_interface(
    ipr: IPRoute, ifname: str, addresses: Sequence[IPv4Interface], routes: Sequence[Route]
) -> LinkInfo:
    """Bring `ifname` up with `addresses` and `routes`, then announce each address.

    Addresses and routes already there are kept; on failure, those this call added are removed.
    """
    present = set(list_addresses(ipr, ifname))
    with Rollback() as undo:
        set_link(ipr, ifname, up=True)
        for address in addresses:
            if address not in present:
                add_address(ipr, ifname, address)
                undo.push(f"delete {address} from {ifname}", lambda a=address: delete_address(ipr, ifname, a))
        for route in routes:
            replace_route(ipr, route)
            undo.push(f"delete route {route}", lambda r=route: delete_route(ipr, r))
    link = get_link(ipr, ifname)
    if link is None:
        raise LinkNotFoundError(f"{ifname!r} disappeared while it was being configured")
    for address in addresses:
        try:
            send_gratuitous_arp(ifname, address.ip, link.mac)
        except OSError as exc:
            # an announcement only speeds up neighbours; the interface itself is configured
            log.warning("gratuitous ARP for %s on %s failed: %s", address.ip, ifname, exc)
    return link
