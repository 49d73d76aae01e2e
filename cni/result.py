"""The CNI success result: values, decoding (prevResult, IPAM answers) and encoding per version.

Versions 0.3.0, 0.3.1 and 0.4.0 share one format, in which each IP configuration carries
"version" ("4" or "6"); 1.0.0 drops that key. 0.3.0 is written with "ips" as every
containernetworking plugin does (the 0.3.1 erratum).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_address,
    ip_interface,
    ip_network,
)
from typing import Any

from cni.errors import ErrorCode
from cni.fields import Fields
from cni.versions import parse_version

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    mac: str = ""
    sandbox: str = ""
    """The pod's network namespace path; empty for an interface on the node."""


@dataclass(frozen=True, slots=True)
class IPConfig:
    address: IPv4Interface | IPv6Interface
    gateway: IPAddress | None = None
    interface: int | None = None
    """Index into `Result.interfaces`; None in an IPAM plugin's answer."""


@dataclass(frozen=True, slots=True)
class RouteConfig:
    dst: IPv4Network | IPv6Network
    gw: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class Dns:
    nameservers: tuple[str, ...] = ()
    domain: str = ""
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    interfaces: tuple[Interface, ...] = ()
    ips: tuple[IPConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    dns: Dns = field(default_factory=Dns)

    def then(self, added: Result) -> Result:
        """This (previous) result with what `added` created appended, its interface indices shifted.

        The previous plugin's DNS settings stay unless it had none.
        """
        offset = len(self.interfaces)
        shifted = tuple(
            replace(ip, interface=None if ip.interface is None else ip.interface + offset) for ip in added.ips
        )
        return Result(
            interfaces=self.interfaces + added.interfaces,
            ips=self.ips + shifted,
            routes=self.routes + added.routes,
            dns=self.dns if self.dns != Dns() else added.dns,
        )


def decode_result(obj: object, path: str, code: ErrorCode) -> Result:
    """The result in decoded JSON `obj` (any supported version); `path` and `code` for errors."""
    fields = Fields(obj, path, code)
    interfaces = tuple(
        Interface(name=item.string("name"), mac=item.string("mac"), sandbox=item.string("sandbox"))
        for item in fields.objects("interfaces")
    )
    ips = []
    for item in fields.objects("ips"):
        address = item.parsed("address", _cidr_interface, "an IP address with a prefix length")
        if address is None:
            raise item.fail("address", "is missing")
        index = item.integer("interface")
        if index is not None and not 0 <= index < len(interfaces):
            raise item.fail("interface", f"{index} is not the index of an interface")
        ips.append(IPConfig(address, item.parsed("gateway", ip_address, "an IP address"), index))
    routes = []
    for item in fields.objects("routes"):
        dst = item.parsed("dst", ip_network, "a network in CIDR notation")
        if dst is None:
            raise item.fail("dst", "is missing")
        routes.append(RouteConfig(dst, item.parsed("gw", ip_address, "an IP address")))
    return Result(
        interfaces=interfaces, ips=tuple(ips), routes=tuple(routes), dns=decode_dns(fields.object("dns"))
    )


def _cidr_interface(text: str) -> IPv4Interface | IPv6Interface:
    if "/" not in text:  # ip_interface would read a bare address as a /32
        raise ValueError(text)
    return ip_interface(text)


def decode_dns(fields: Fields | None) -> Dns:
    if fields is None:
        return Dns()
    return Dns(
        nameservers=fields.strings("nameservers"),
        domain=fields.string("domain"),
        search=fields.strings("search"),
        options=fields.strings("options"),
    )


def encode_result(result: Result, version: str) -> str:
    """The result JSON in the format of `version` (a supported one)."""
    with_ip_version = (parse_version(version) or (0, 0, 0)) < (1, 0, 0)
    ips = []
    for ip in result.ips:
        entry: dict[str, Any] = {}
        if with_ip_version:
            entry["version"] = str(ip.address.version)
        if ip.interface is not None:
            entry["interface"] = ip.interface
        entry["address"] = str(ip.address)
        if ip.gateway is not None:
            entry["gateway"] = str(ip.gateway)
        ips.append(entry)
    document: dict[str, Any] = {"cniVersion": version}
    if result.interfaces:
        document["interfaces"] = [_drop_empty(asdict(interface)) for interface in result.interfaces]
    if ips:
        document["ips"] = ips
    if result.routes:
        document["routes"] = [
            {"dst": str(route.dst), **({"gw": str(route.gw)} if route.gw is not None else {})}
            for route in result.routes
        ]
    document["dns"] = _drop_empty(asdict(result.dns))
    return json.dumps(document)


def _drop_empty(entries: dict[str, Any]) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, tuple) else value for key, value in entries.items() if value
    }
