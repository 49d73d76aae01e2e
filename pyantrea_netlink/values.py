"""The values the netlink edge takes and returns: links, routes, a veth pair, moved IP config."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A network device as the kernel reports it."""

    name: str
    index: int
    mac: str
    mtu: int
    up: bool
    """Administratively up (IFF_UP)."""
    kind: str | None
    """"veth", "tun", "dummy", ...; None for a device without link info (such as lo)."""
    addresses: tuple[IPv4Interface, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """An IPv4 route of the main table through device `dev`."""

    dst: IPv4Network
    dev: str
    gateway: IPv4Address | None = None
    onlink: bool = False
    """Use the gateway even though no address of `dev` covers it (pretend it is on the link)."""
    src: IPv4Address | None = None
    """Preferred source address."""
    metric: int | None = None

    def __str__(self) -> str:
        text = "default" if self.dst == DEFAULT_ROUTE else str(self.dst)
        if self.gateway is not None:
            text += f" via {self.gateway}"
        text += f" dev {self.dev}"
        if self.onlink:
            text += " onlink"
        return text


@dataclass(frozen=True, slots=True)
class VethPair:
    """Both ends of a pod's veth pair: `host` in the node's namespace, `container` in the pod's."""

    host: LinkInfo
    container: LinkInfo


@dataclass(frozen=True, slots=True)
class IpConfig:
    """The addresses and routes moved from one device to another."""

    addresses: tuple[IPv4Interface, ...]
    routes: tuple[Route, ...]
    """As they were on the source device."""


@dataclass(frozen=True, slots=True)
class NextHop:
    """Where the kernel sends packets for an address: the device, the neighbour on it, the source."""

    dev: str
    address: IPv4Address
    """The gateway of the route taken, or the destination itself when it is on the link."""
    src: IPv4Address
