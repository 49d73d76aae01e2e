"""Bridge commands: create or adopt a bridge, delete it, read it, keep data in its external_ids.

The agent's integration bridge is created with `fail_mode=secure` (no flows until the agent
installs them) and OpenFlow 1.5 among its protocols; OpenFlow 1.0 stays enabled so that a
user's plain `ovs-ofctl dump-flows br-int` works. A bridge that already exists is adopted:
its datapath type and fail mode are set to the requested ones and the requested protocols are
added to whatever it already speaks. The agent keeps its flow round number in the bridge's
external_ids (`roundNum`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pyantrea_ovsdb.command import Command, TxnContext, check_choice, check_name, freeze, optional
from pyantrea_ovsdb.errors import RecordExistsError, RecordNotFoundError

OPENFLOW_VERSIONS = ("OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15")
DEFAULT_PROTOCOLS = ("OpenFlow10", "OpenFlow13", "OpenFlow15")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


class DatapathType(StrEnum):
    SYSTEM = "system"
    """The kernel datapath (openvswitch module)."""
    NETDEV = "netdev"
    """The userspace datapath, inside ovs-vswitchd."""


class FailMode(StrEnum):
    SECURE = "secure"
    """No flows but the controller's: the integration bridge."""
    STANDALONE = "standalone"
    """A learning switch when no controller is set: an uplink bridge."""


@dataclass(frozen=True, slots=True)
class BridgeInfo:
    """A bridge as OVSDB holds it."""

    name: str
    datapath_type: str
    """As stored; "" means the default (system)."""
    fail_mode: str | None
    protocols: frozenset[str]
    external_ids: Mapping[str, str]
    ports: tuple[str, ...]
    """Names of the bridge's ports, sorted; includes the bridge's own internal port."""


@dataclass(frozen=True, slots=True)
class AddBridge(Command[None]):
    """Create bridge `name` (with its internal port of the same name) or adopt an existing one."""

    name: str
    datapath_type: DatapathType = DatapathType.SYSTEM
    fail_mode: FailMode = FailMode.SECURE
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    external_ids: Mapping[str, str] = field(default_factory=dict)
    """Keys to set; other keys already on an adopted bridge are kept."""
    may_exist: bool = True
    """Adopt an existing bridge instead of failing."""
    hwaddr: str | None = None
    """The MAC of the bridge's internal port (`other_config:hwaddr`); None: the one OVS picks."""

    def __post_init__(self) -> None:
        check_name("name", self.name)
        if self.hwaddr is not None and not _MAC.fullmatch(self.hwaddr):
            raise ValueError(f"hwaddr must be a MAC address like 0a:58:ac:10:01:01, got {self.hwaddr!r}")
        object.__setattr__(
            self, "datapath_type", check_choice("datapath_type", DatapathType, self.datapath_type)
        )
        object.__setattr__(self, "fail_mode", check_choice("fail_mode", FailMode, self.fail_mode))
        unknown = sorted(set(self.protocols) - set(OPENFLOW_VERSIONS))
        if unknown:
            raise ValueError(f"protocols has unknown OpenFlow versions {unknown}; known: {OPENFLOW_VERSIONS}")
        if "OpenFlow15" not in self.protocols:
            raise ValueError(f"protocols must include OpenFlow15 (the agent speaks it), got {self.protocols}")
        object.__setattr__(self, "external_ids", freeze(self.external_ids))

    def run_idl(self, txn: TxnContext) -> None:
        bridge = txn.find("Bridge", self.name)
        if bridge is None:
            bridge = txn.insert("Bridge")
            bridge.name = self.name
            local = txn.insert("Interface")
            local.name = self.name
            local.type = "internal"
            port = txn.insert("Port")
            port.name = self.name
            port.interfaces = [local]
            bridge.ports = [port]
            bridge.protocols = sorted(self.protocols)
            txn.open_vswitch().addvalue("bridges", bridge)
        elif not self.may_exist:
            raise RecordExistsError(f"bridge {self.name!r} already exists")
        else:
            bridge.protocols = sorted(set(bridge.protocols) | set(self.protocols))
        bridge.datapath_type = self.datapath_type.value
        bridge.fail_mode = [self.fail_mode.value]
        for key, value in self.external_ids.items():
            bridge.setkey("external_ids", key, value)
        if self.hwaddr is not None:
            bridge.setkey("other_config", "hwaddr", self.hwaddr)


@dataclass(frozen=True, slots=True)
class DeleteBridge(Command[None]):
    """Delete bridge `name` with all its ports."""

    name: str
    if_exists: bool = True
    """A missing bridge is success instead of an error."""

    def run_idl(self, txn: TxnContext) -> None:
        bridge = txn.find("Bridge", self.name)
        if bridge is None:
            if self.if_exists:
                return
            raise RecordNotFoundError(f"bridge {self.name!r} does not exist")
        txn.open_vswitch().delvalue("bridges", bridge)
        bridge.delete()


@dataclass(frozen=True, slots=True)
class GetBridge(Command[BridgeInfo | None]):
    """Read bridge `name`; None when it does not exist."""

    name: str

    def run_idl(self, txn: TxnContext) -> BridgeInfo | None:
        bridge = txn.find("Bridge", self.name)
        if bridge is None:
            return None
        return BridgeInfo(
            name=bridge.name,
            datapath_type=bridge.datapath_type,
            fail_mode=optional(bridge, "fail_mode"),
            protocols=frozenset(bridge.protocols),
            external_ids=freeze(bridge.external_ids),
            ports=tuple(sorted(port.name for port in bridge.ports)),
        )


@dataclass(frozen=True, slots=True)
class SetBridgeExternalIds(Command[None]):
    """Set keys in a bridge's external_ids, leaving the other keys alone."""

    bridge: str
    values: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", freeze(self.values))

    def run_idl(self, txn: TxnContext) -> None:
        bridge = txn.bridge(self.bridge)
        for key, value in self.values.items():
            bridge.setkey("external_ids", key, value)
