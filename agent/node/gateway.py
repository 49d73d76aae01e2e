"""gw0 in the node's namespace: up, with the first address of the pod subnet.

gw0 is a device of ovs-vswitchd's (a tap on the userspace datapath), created when the port is
added and again whenever ovs-vswitchd restarts, without its address: `configure_gateway` waits
for the device and (re)applies its state, and is called after every replay.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Interface

from pyantrea_netlink import LinkInfo, NodeNetlink
from pyantrea_netlink.errors import LinkNotFoundError

_POLL_SECONDS = 0.05


async def wait_for_link(netlink: NodeNetlink, ifname: str, *, timeout: float) -> LinkInfo:
    """The device `ifname` once it exists in the node's namespace."""
    try:
        async with asyncio.timeout(timeout):
            while (link := await netlink.link(ifname)) is None:
                await asyncio.sleep(_POLL_SECONDS)
    except TimeoutError:
        raise LinkNotFoundError(f"device {ifname!r} did not appear within {timeout}s") from None
    return link


async def configure_gateway(
    netlink: NodeNetlink, ifname: str, address: IPv4Interface, *, timeout: float = 10.0
) -> LinkInfo:
    """Bring `ifname` up holding `address` (only that address)."""
    link = await wait_for_link(netlink, ifname, timeout=timeout)
    for stale in link.addresses:
        if stale != address:
            await netlink.delete_address(ifname, stale)
    await netlink.add_address(ifname, address)
    await netlink.set_link(ifname, up=True)
    return await wait_for_link(netlink, ifname, timeout=timeout)
