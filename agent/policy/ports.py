"""A rule's services as the policy flows match them: protocol plus destination port (value, mask).

A numeric port is one exact match; an endPort range becomes the fewest aligned (value, mask)
blocks that cover it (80-95 is 0x50/0xfff0); a service without a port matches the protocol.
A named port means the number some pod gives that name for that protocol, so it resolves per
pod: `resolve` gives a pod's whole port set, and pods (or peers) with equal sets share one
conjunction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from fastpath.fields import IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP
from pyantrea_api.objects import NamedPort, Protocol, Service

PROTOCOL_NUMBERS = {Protocol.TCP: IP_PROTO_TCP, Protocol.UDP: IP_PROTO_UDP, Protocol.SCTP: IP_PROTO_SCTP}
FULL_PORT_MASK = 0xFFFF


class PortMatch(NamedTuple):
    """IP protocol number and destination port (value, mask); mask 0 is every port."""

    protocol: int
    port: int
    mask: int


PortSet = tuple[PortMatch, ...]
"""Sorted, without duplicates: the ports of one conjunction."""


def has_named_ports(services: Iterable[Service]) -> bool:
    return any(isinstance(service.port, str) for service in services)


def service_matches(service: Service) -> list[PortMatch]:
    """The matches of a service given by number (or none); named ports need `resolve`."""
    protocol = PROTOCOL_NUMBERS[service.protocol]
    port = service.port
    if port is None:
        return [PortMatch(protocol, 0, 0)]
    if isinstance(port, str):
        raise ValueError(f"port {port!r} is named: resolve it against a pod's ports")
    end = service.end_port if service.end_port is not None else port
    if not 0 <= port <= end <= FULL_PORT_MASK:
        raise ValueError(f"port range {port}-{end} is not inside 0-65535")
    return [PortMatch(protocol, value, mask) for value, mask in range_masks(port, end)]


def range_masks(start: int, end: int) -> list[tuple[int, int]]:
    """The fewest aligned (value, mask) blocks of 16-bit ports covering start..end."""
    blocks = []
    while start <= end:
        size = start & -start if start else 1 << 16
        while start + size - 1 > end:
            size >>= 1
        blocks.append((start, FULL_PORT_MASK & ~(size - 1)))
        start += size
    return blocks


def static_ports(services: Iterable[Service]) -> PortSet:
    """The port set of services without named ports."""
    return _canonical(m for service in services for m in service_matches(service))


def resolve(services: Iterable[Service], named: Iterable[NamedPort]) -> PortSet:
    """The port set of services for a pod with the `named` container ports: a named port the
    pod does not declare (for that protocol) matches nothing on that pod."""
    numbers = {(p.name, p.protocol): p.port for p in named}
    matches: list[PortMatch] = []
    for service in services:
        if isinstance(service.port, str):
            number = numbers.get((service.port, service.protocol))
            if number is not None:
                matches.append(PortMatch(PROTOCOL_NUMBERS[service.protocol], number, FULL_PORT_MASK))
        else:
            matches.extend(service_matches(service))
    return _canonical(matches)


def _canonical(matches: Iterable[PortMatch]) -> PortSet:
    return tuple(sorted(set(matches)))
