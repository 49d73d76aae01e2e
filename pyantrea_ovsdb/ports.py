"""Port commands: the tunnel port, internal ports, system (veth) ports; listing and finding them.

Every port here has exactly one interface of the same name. Pod data lives in the interface's
external_ids (see `agent.pods.portids`), which is what the agent reads back after a restart.
With `may_exist` (the default) adding a port that is already on the bridge updates its
interface to the requested type, options, MTU, MAC and ofport request, and sets the requested
external_ids keys: the same call both creates and repairs.

The OpenFlow port number is assigned by ovs-vswitchd after the transaction commits; wait for it
with `Ovsdb.wait_for_ofport`, which uses `ofport_probe` below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ovs.db.idl import Row

from pyantrea_ovsdb.bridge import DatapathType
from pyantrea_ovsdb.command import (
    Command,
    Replica,
    TxnContext,
    check_choice,
    check_name,
    freeze,
    optional,
)
from pyantrea_ovsdb.errors import (
    OfportError,
    RecordExistsError,
    RecordNotFoundError,
    UnsupportedTunnelError,
)

_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")

OFPORT_REQUEST_MAX = 65279
"""The highest port number OpenFlow leaves to switches (0xfeff)."""


class TunnelType(StrEnum):
    VXLAN = "vxlan"
    GENEVE = "geneve"
    GRE = "gre"
    STT = "stt"
    """Kernel datapath only (and only with the out-of-tree module)."""


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A port and its interface as OVSDB holds them."""

    name: str
    bridge: str
    type: str
    """Interface type: "" for a system device, "internal", "vxlan", ..."""
    ofport: int | None
    """None until ovs-vswitchd assigns it; -1 when it could not attach the interface."""
    mac: str | None
    """The MAC address in use (mac_in_use), once ovs-vswitchd reports it."""
    options: Mapping[str, str]
    external_ids: Mapping[str, str]
    """The interface's external_ids."""
    error: str | None
    """Why ovs-vswitchd could not attach the interface, if it could not."""


def _check_ofport_request(ofport_request: int | None) -> None:
    if ofport_request is not None and not 1 <= ofport_request <= OFPORT_REQUEST_MAX:
        raise ValueError(f"ofport_request must be in 1..{OFPORT_REQUEST_MAX}, got {ofport_request}")


def _check_mac(mac: str | None) -> None:
    if mac is None:
        return
    if not _MAC.fullmatch(mac):
        raise ValueError(f"mac must look like 0a:58:0a:0a:00:01, got {mac!r}")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"mac must be a unicast address, got {mac!r}")


def _ensure_port(
    txn: TxnContext,
    bridge_name: str,
    name: str,
    *,
    iface_type: str,
    options: Mapping[str, str],
    external_ids: Mapping[str, str],
    ofport_request: int | None,
    mtu: int | None = None,
    mac: str | None = None,
    may_exist: bool,
) -> None:
    """Create port `name` with one interface on the bridge, or bring an existing one in line."""
    bridge = txn.bridge(bridge_name)
    port = txn.find("Port", name)
    if port is None:
        iface = txn.insert("Interface")
        iface.name = name
        port = txn.insert("Port")
        port.name = name
        port.interfaces = [iface]
        bridge.addvalue("ports", port)
    else:
        owner = txn.bridge_of(port)
        if owner is not None and owner.name != bridge_name:
            raise RecordExistsError(f"port {name!r} exists on bridge {owner.name!r}, not on {bridge_name!r}")
        if not may_exist:
            raise RecordExistsError(f"port {name!r} already exists on bridge {bridge_name!r}")
        iface = next((i for i in port.interfaces if i.name == name), None)
        if iface is None:
            raise RecordExistsError(f"port {name!r} exists without an interface of the same name")
    iface.type = iface_type
    iface.options = dict(options)
    iface.ofport_request = [] if ofport_request is None else [ofport_request]
    iface.mtu_request = [] if mtu is None else [mtu]
    iface.mac = [] if mac is None else [mac]
    for key, value in external_ids.items():
        iface.setkey("external_ids", key, value)


@dataclass(frozen=True, slots=True)
class AddTunnelPort(Command[None]):
    """A flow-based tunnel port: the remote address and the key come from each flow."""

    bridge: str
    name: str
    tunnel_type: TunnelType
    ofport_request: int | None = None
    may_exist: bool = True

    def __post_init__(self) -> None:
        check_name("name", self.name)
        object.__setattr__(self, "tunnel_type", check_choice("tunnel_type", TunnelType, self.tunnel_type))
        _check_ofport_request(self.ofport_request)

    def run_idl(self, txn: TxnContext) -> None:
        datapath = txn.bridge(self.bridge).datapath_type
        if self.tunnel_type is TunnelType.STT and datapath == DatapathType.NETDEV:
            raise UnsupportedTunnelError(
                f"tunnel_type 'stt' is not supported on bridge {self.bridge!r}: its datapath_type is "
                "netdev and the userspace datapath has no STT; use vxlan, geneve or gre"
            )
        _ensure_port(
            txn,
            self.bridge,
            self.name,
            iface_type=self.tunnel_type.value,
            options={"remote_ip": "flow", "key": "flow"},
            external_ids={},
            ofport_request=self.ofport_request,
            may_exist=self.may_exist,
        )


@dataclass(frozen=True, slots=True)
class AddInternalPort(Command[None]):
    """An internal port (a device of ovs-vswitchd's own, such as the gateway `gw0`)."""

    bridge: str
    name: str
    mtu: int | None = None
    mac: str | None = None
    ofport_request: int | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)
    may_exist: bool = True

    def __post_init__(self) -> None:
        check_name("name", self.name)
        if self.mtu is not None and not 68 <= self.mtu <= 65535:
            raise ValueError(f"mtu must be in 68..65535, got {self.mtu}")
        _check_mac(self.mac)
        _check_ofport_request(self.ofport_request)
        object.__setattr__(self, "external_ids", freeze(self.external_ids))

    def run_idl(self, txn: TxnContext) -> None:
        _ensure_port(
            txn,
            self.bridge,
            self.name,
            iface_type="internal",
            options={},
            external_ids=self.external_ids,
            ofport_request=self.ofport_request,
            mtu=self.mtu,
            mac=self.mac,
            may_exist=self.may_exist,
        )


@dataclass(frozen=True, slots=True)
class AddSystemPort(Command[None]):
    """A port for an existing network device, such as the host end of a pod's veth pair."""

    bridge: str
    name: str
    external_ids: Mapping[str, str] = field(default_factory=dict)
    ofport_request: int | None = None
    may_exist: bool = True

    def __post_init__(self) -> None:
        check_name("name", self.name)
        _check_ofport_request(self.ofport_request)
        object.__setattr__(self, "external_ids", freeze(self.external_ids))

    def run_idl(self, txn: TxnContext) -> None:
        _ensure_port(
            txn,
            self.bridge,
            self.name,
            iface_type="",
            options={},
            external_ids=self.external_ids,
            ofport_request=self.ofport_request,
            may_exist=self.may_exist,
        )


@dataclass(frozen=True, slots=True)
class DeletePort(Command[None]):
    """Delete port `name` (from `bridge` when given: a port on another bridge is an error)."""

    name: str
    bridge: str | None = None
    if_exists: bool = True
    """A missing port is success instead of an error."""

    def run_idl(self, txn: TxnContext) -> None:
        port = txn.find("Port", self.name)
        owner = txn.bridge_of(port) if port is not None else None
        if port is None or owner is None:
            if self.if_exists:
                return
            raise RecordNotFoundError(f"port {self.name!r} does not exist")
        if self.bridge is not None and owner.name != self.bridge:
            raise RecordNotFoundError(f"port {self.name!r} is on bridge {owner.name!r}, not {self.bridge!r}")
        owner.delvalue("ports", port)
        port.delete()


def _port_infos(replica: Replica, bridge: str | None) -> Iterator[PortInfo]:
    bridges = [replica.bridge(bridge)] if bridge is not None else replica.rows("Bridge")
    for br in bridges:
        for port in br.ports:
            for iface in port.interfaces:
                yield _port_info(br.name, iface)


def _port_info(bridge: str, iface: Row) -> PortInfo:
    return PortInfo(
        name=iface.name,
        bridge=bridge,
        type=iface.type,
        ofport=optional(iface, "ofport"),
        mac=optional(iface, "mac_in_use"),
        options=freeze(iface.options),
        external_ids=freeze(iface.external_ids),
        error=optional(iface, "error"),
    )


@dataclass(frozen=True, slots=True)
class ListPorts(Command[tuple[PortInfo, ...]]):
    """Every port of `bridge` (of every bridge when None), sorted by bridge and name."""

    bridge: str | None = None

    def run_idl(self, txn: TxnContext) -> tuple[PortInfo, ...]:
        return tuple(sorted(_port_infos(txn, self.bridge), key=lambda p: (p.bridge, p.name)))


@dataclass(frozen=True, slots=True)
class FindPorts(Command[tuple[PortInfo, ...]]):
    """The ports whose interface has external_ids[key] == value, sorted by bridge and name."""

    key: str
    value: str
    bridge: str | None = None

    def run_idl(self, txn: TxnContext) -> tuple[PortInfo, ...]:
        found = (p for p in _port_infos(txn, self.bridge) if p.external_ids.get(self.key) == self.value)
        return tuple(sorted(found, key=lambda p: (p.bridge, p.name)))


def ofport_probe(interface: str) -> Callable[[Replica], int | None]:
    """A check for the IDL worker: interface's ofport once assigned, None while it is not yet.

    Raises `OfportError` when ovs-vswitchd gave up on the interface (ofport -1).
    """

    def probe(replica: Replica) -> int | None:
        iface = replica.find("Interface", interface)
        if iface is None:
            raise RecordNotFoundError(f"interface {interface!r} does not exist")
        ofport = optional(iface, "ofport")
        if ofport == -1:
            reason = optional(iface, "error") or "no reason given"
            raise OfportError(f"ovs-vswitchd could not attach interface {interface!r}: {reason}")
        return ofport

    return probe
