"""Network devices and their IPv4 addresses: read, create (veth pairs), change, delete.

Functions here run on a `NetlinkThread` and act in its namespace through its socket. Deleting
what does not exist is success; creating what exists is `LinkExistsError`; reading or changing
a device that does not exist is `LinkNotFoundError`.
"""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv4Interface

from pyroute2 import IPRoute, NetlinkError

from pyantrea_netlink.errors import LinkExistsError, LinkNotFoundError, NetworkConfigError, explained
from pyantrea_netlink.values import LinkInfo

_IFF_UP = 0x1


def find_index(ipr: IPRoute, ifname: str) -> int | None:
    with explained(f"look up device {ifname}"):
        indexes = ipr.link_lookup(ifname=ifname)
    return indexes[0] if indexes else None


def link_index(ipr: IPRoute, ifname: str) -> int:
    index = find_index(ipr, ifname)
    if index is None:
        raise LinkNotFoundError(f"no device named {ifname!r}")
    return index


def get_link(ipr: IPRoute, ifname: str) -> LinkInfo | None:
    """Device `ifname` with its IPv4 addresses; None when there is none."""
    index = find_index(ipr, ifname)
    if index is None:
        return None
    with explained(f"read device {ifname}", ignore=(errno.ENODEV,)):
        (message,) = ipr.link("get", index=index)
        return LinkInfo(
            name=message.get("ifname"),
            index=index,
            mac=message.get("address"),
            mtu=message.get("mtu"),
            up=bool(message["flags"] & _IFF_UP),
            kind=message.get(("linkinfo", "kind")),
            addresses=list_addresses(ipr, ifname),
        )
    return None  # it went away between the lookup and the read


def set_link(
    ipr: IPRoute, ifname: str, *, up: bool | None = None, mtu: int | None = None, mac: str | None = None
) -> None:
    """Change what is given of the device's state, MTU and MAC address."""
    changes: dict[str, object] = {}
    if up is not None:
        changes["state"] = "up" if up else "down"
    if mtu is not None:
        changes["mtu"] = mtu
    if mac is not None:
        changes["address"] = mac
    index = link_index(ipr, ifname)
    with explained(f"set {', '.join(f'{k}={v}' for k, v in changes.items())} on {ifname}"):
        ipr.link("set", index=index, **changes)


def delete_link(ipr: IPRoute, ifname: str) -> None:
    """Delete device `ifname` (for a veth, both ends); a missing device is success."""
    index = find_index(ipr, ifname)
    if index is not None:
        with explained(f"delete device {ifname}", ignore=(errno.ENODEV,)):
            ipr.link("del", index=index)


def create_veth(ipr: IPRoute, ifname: str, *, peer: str, peer_netns_fd: int, mtu: int) -> None:
    """A veth pair: `ifname` here, `peer` created directly in the namespace `peer_netns_fd`.

    Creating the peer inside its namespace (rather than creating it here, then moving and
    renaming it) never puts a second device named like the pod's interface in this namespace.
    """
    if find_index(ipr, ifname) is not None:
        raise LinkExistsError(f"a device named {ifname!r} already exists")
    try:
        ipr.link(
            "add",
            ifname=ifname,
            kind="veth",
            mtu=mtu,
            peer={"ifname": peer, "net_ns_fd": peer_netns_fd, "mtu": mtu},
        )
    except NetlinkError as exc:
        if exc.code == errno.EEXIST:
            raise LinkExistsError(f"a device named {peer!r} already exists in the peer's namespace") from exc
        raise NetworkConfigError(f"create veth pair {ifname} / {peer}: {exc.args[1]}") from exc


def ignore_arp_for_local_addresses(ifname: str) -> None:
    """Make the kernel answer no ARP request arriving on `ifname` (arp_ignore=8), in the
    namespace of the calling thread.

    A pod's host-side veth on the userspace datapath is an ordinary interface of the node: Open
    vSwitch reads its frames, but the node's IP stack sees them too, and by default answers a
    pod's ARP for the gateway address itself, with the veth's MAC. A pod that learns that MAC
    sends its gateway traffic to the node's stack as well as through OVS, and the node answers
    connections to its own addresses (a NodePort, or a hairpin reply to the gateway IP) with a
    reset before OVS's answer arrives.
    """
    path = f"/proc/sys/net/ipv4/conf/{ifname}/arp_ignore"
    try:
        with open(path, "w") as f:
            f.write("8\n")
    except OSError as exc:
        raise NetworkConfigError(f"set {path}: {exc}") from exc


def list_addresses(ipr: IPRoute, ifname: str) -> tuple[IPv4Interface, ...]:
    """The IPv4 addresses of `ifname`, in the kernel's order."""
    index = link_index(ipr, ifname)
    with explained(f"list the addresses of {ifname}"):
        messages = ipr.addr("dump", index=index, family=socket.AF_INET)
    return tuple(IPv4Interface(f"{m.get('address')}/{m['prefixlen']}") for m in messages)


def add_address(ipr: IPRoute, ifname: str, address: IPv4Interface) -> None:
    """Give `ifname` the address; an address it already has is success."""
    index = link_index(ipr, ifname)
    with explained(f"add address {address} to {ifname}"):
        ipr.addr("replace", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)


def delete_address(ipr: IPRoute, ifname: str, address: IPv4Interface) -> None:
    """Take the address from `ifname`; an address (or device) it does not have is success."""
    index = find_index(ipr, ifname)
    if index is not None:
        with explained(f"delete address {address} from {ifname}", ignore=(errno.EADDRNOTAVAIL, errno.ENODEV)):
            ipr.addr("del", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)
