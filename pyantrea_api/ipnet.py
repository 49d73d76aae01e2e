"""IP addresses and networks as packed bytes (4 bytes for IPv4, 16 for IPv6), as on the wire.

Packed bytes are compact, hash fast, and carry the family in their length. Parsing raises
`ValueError`; callers add the field name.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

PackedIP = bytes
"""An IP address in network byte order: 4 bytes (IPv4) or 16 bytes (IPv6)."""


@dataclass(frozen=True, slots=True, order=True)
class IPNet:
    """A network: its address with the host bits cleared, and the prefix length."""

    ip: PackedIP
    prefix_len: int

    def __str__(self) -> str:
        return f"{format_ip(self.ip)}/{self.prefix_len}"

    def contains(self, other: IPNet) -> bool:
        """Whether `other` lies inside this network (same family, longer or equal prefix)."""
        if len(other.ip) != len(self.ip) or other.prefix_len < self.prefix_len:
            return False
        bits = len(self.ip) * 8
        shift = bits - self.prefix_len
        return int.from_bytes(other.ip, "big") >> shift == int.from_bytes(self.ip, "big") >> shift


def parse_ip(text: str) -> PackedIP:
    """The packed form of an IPv4 or IPv6 address."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        return socket.inet_pton(family, text)
    except OSError:
        raise ValueError(f"invalid IP address {text!r}") from None


def parse_cidr(text: str) -> IPNet:
    """The network of a CIDR such as `10.0.0.0/8`; host bits are cleared, as Kubernetes does."""
    if "/" not in text:
        raise ValueError(f"invalid CIDR {text!r}: no prefix length")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"invalid CIDR {text!r}") from None
    return IPNet(network.network_address.packed, network.prefixlen)


def format_ip(ip: PackedIP) -> str:
    """The usual text form of a packed address."""
    return socket.inet_ntop(socket.AF_INET6 if len(ip) == 16 else socket.AF_INET, ip)


ALL_IPV4 = IPNet(bytes(4), 0)
ALL_IPV6 = IPNet(bytes(16), 0)
