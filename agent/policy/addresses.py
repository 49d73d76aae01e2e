"""Peer addresses as the policy flows match them: IPv4 networks packed into one int each.

A peer address is an IPv4 network, `(ip << 6) | prefix_len`: a pod's address is a /32, an
ipBlock becomes the CIDRs left of it once its `except` CIDRs are cut out. Ints hash and compare
fast and sets of them diff in C, which is what keeps a rule with 10,000 peers cheap to update.
The datapath is IPv4 only: IPv6 addresses and blocks give no peer address.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyantrea_api.ipnet import IPNet, PackedIP
from pyantrea_api.objects import IPBlock

PeerAddress = int
"""`(ip << 6) | prefix_len` of an IPv4 network."""

_PREFIX_BITS = 6
_PREFIX_MASK = (1 << _PREFIX_BITS) - 1
HOST = 32


def address(ip: int, prefix_len: int = HOST) -> PeerAddress:
    return (ip << _PREFIX_BITS) | prefix_len


def ip_of(peer: PeerAddress) -> int:
    return peer >> _PREFIX_BITS


def prefix_of(peer: PeerAddress) -> int:
    return peer & _PREFIX_MASK


def mask_of(prefix_len: int) -> int:
    return (0xFFFFFFFF << (HOST - prefix_len)) & 0xFFFFFFFF


def host_addresses(ips: Iterable[PackedIP]) -> list[PeerAddress]:
    """The /32 peer address of every IPv4 address among `ips`."""
    return [(int.from_bytes(ip, "big") << _PREFIX_BITS) | HOST for ip in ips if len(ip) == 4]


def block_addresses(block: IPBlock) -> list[PeerAddress]:
    """The networks of `block.cidr` that no `except` CIDR covers, disjoint, by address."""
    if len(block.cidr.ip) != 4:
        return []
    if not block.excepts:
        ip, prefix = _network(block.cidr)
        return [(ip << _PREFIX_BITS) | prefix]
    networks = [_network(block.cidr)]
    for excluded in block.excepts:
        if len(excluded.ip) == 4:
            cut = _network(excluded)
            networks = [rest for network in networks for rest in _subtract(network, cut)]
    return [address(ip, prefix) for ip, prefix in sorted(networks)]


def _network(net: IPNet) -> tuple[int, int]:
    ip = int.from_bytes(net.ip, "big") & mask_of(net.prefix_len)
    return ip, net.prefix_len


def _contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    return inner[1] >= outer[1] and inner[0] & mask_of(outer[1]) == outer[0]


def _subtract(network: tuple[int, int], cut: tuple[int, int]) -> list[tuple[int, int]]:
    """`network` minus `cut`, as disjoint networks: the sibling of each half on the way down."""
    if _contains(cut, network):
        return []
    if not _contains(network, cut):
        return [network]
    ip, prefix = network
    rest = []
    while prefix < cut[1]:
        prefix += 1
        half = 1 << (HOST - prefix)
        if cut[0] & half:
            rest.append((ip, prefix))
            ip |= half
        else:
            rest.append((ip | half, prefix))
    return rest
