"""A bridge's flow export: IPFIX, NetFlow and sFlow collectors and their sampling.

`SetFlowExport` declares the whole export configuration of a bridge at once: each protocol
given is configured (an existing record is updated in place, so ovs-vswitchd keeps its
exporter), each protocol left as None is switched off.
"""

from __future__ import annotations

from dataclasses import dataclass

from ovs.db.idl import Row

from pyantrea_ovsdb.command import Command, TxnContext, optional

_U32_MAX = 2**32 - 1


def _check_targets(field: str, targets: tuple[str, ...], *, required: bool) -> None:
    if required and not targets:
        raise ValueError(f"{field} must name at least one collector as HOST:PORT")
    for target in targets:
        host, sep, port = target.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{field}: {target!r} is not HOST:PORT (e.g. 10.0.0.5:4739 or [fd00::5]:4739)")


def _check_range(field: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{field} must be in {low}..{high}, got {value}")


def _opt(value: int | str | None) -> list[int | str]:
    return [] if value is None else [value]


@dataclass(frozen=True, slots=True)
class IpfixConfig:
    """Bridge-wide IPFIX sampling (Bridge.ipfix)."""

    targets: tuple[str, ...]
    sampling: int | None = None
    """Sample one packet in `sampling` (OVS default 400)."""
    obs_domain_id: int | None = None
    obs_point_id: int | None = None
    cache_active_timeout: int | None = None
    """Seconds a flow may stay in the exporter's cache (0..4200)."""
    cache_max_flows: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        _check_targets("ipfix.targets", self.targets, required=True)
        _check_range("ipfix.sampling", self.sampling, 1, _U32_MAX)
        _check_range("ipfix.obs_domain_id", self.obs_domain_id, 0, _U32_MAX)
        _check_range("ipfix.obs_point_id", self.obs_point_id, 0, _U32_MAX)
        _check_range("ipfix.cache_active_timeout", self.cache_active_timeout, 0, 4200)
        _check_range("ipfix.cache_max_flows", self.cache_max_flows, 0, _U32_MAX)

    def write(self, row: Row) -> None:
        row.targets = list(self.targets)
        row.sampling = _opt(self.sampling)
        row.obs_domain_id = _opt(self.obs_domain_id)
        row.obs_point_id = _opt(self.obs_point_id)
        row.cache_active_timeout = _opt(self.cache_active_timeout)
        row.cache_max_flows = _opt(self.cache_max_flows)

    @classmethod
    def read(cls, row: Row) -> IpfixConfig:
        return cls(
            targets=tuple(sorted(row.targets)),
            sampling=optional(row, "sampling"),
            obs_domain_id=optional(row, "obs_domain_id"),
            obs_point_id=optional(row, "obs_point_id"),
            cache_active_timeout=optional(row, "cache_active_timeout"),
            cache_max_flows=optional(row, "cache_max_flows"),
        )


@dataclass(frozen=True, slots=True)
class NetflowConfig:
    """NetFlow v5 export (Bridge.netflow)."""

    targets: tuple[str, ...]
    active_timeout: int = 0
    """Seconds between reports of a long-lived flow; 0 is OVS's default (600), -1 never."""
    engine_type: int | None = None
    engine_id: int | None = None
    add_id_to_interface: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        _check_targets("netflow.targets", self.targets, required=True)
        _check_range("netflow.active_timeout", self.active_timeout, -1, _U32_MAX)
        _check_range("netflow.engine_type", self.engine_type, 0, 255)
        _check_range("netflow.engine_id", self.engine_id, 0, 255)

    def write(self, row: Row) -> None:
        row.targets = list(self.targets)
        row.active_timeout = self.active_timeout
        row.engine_type = _opt(self.engine_type)
        row.engine_id = _opt(self.engine_id)
        row.add_id_to_interface = self.add_id_to_interface

    @classmethod
    def read(cls, row: Row) -> NetflowConfig:
        return cls(
            targets=tuple(sorted(row.targets)),
            active_timeout=row.active_timeout,
            engine_type=optional(row, "engine_type"),
            engine_id=optional(row, "engine_id"),
            add_id_to_interface=row.add_id_to_interface,
        )


@dataclass(frozen=True, slots=True)
class SflowConfig:
    """sFlow sampling (Bridge.sflow)."""

    targets: tuple[str, ...]
    sampling: int | None = None
    """Sample one packet in `sampling` (OVS default 400)."""
    polling: int | None = None
    """Seconds between interface counter reports (OVS default 30)."""
    header: int | None = None
    """Bytes of each sampled packet to send (OVS default 128)."""
    agent: str | None = None
    """Interface or address whose IP identifies this switch to the collector."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        _check_targets("sflow.targets", self.targets, required=True)
        _check_range("sflow.sampling", self.sampling, 1, _U32_MAX)
        _check_range("sflow.polling", self.polling, 0, _U32_MAX)
        _check_range("sflow.header", self.header, 1, 65535)

    def write(self, row: Row) -> None:
        row.targets = list(self.targets)
        row.sampling = _opt(self.sampling)
        row.polling = _opt(self.polling)
        row.header = _opt(self.header)
        row.agent = _opt(self.agent)

    @classmethod
    def read(cls, row: Row) -> SflowConfig:
        return cls(
            targets=tuple(sorted(row.targets)),
            sampling=optional(row, "sampling"),
            polling=optional(row, "polling"),
            header=optional(row, "header"),
            agent=optional(row, "agent"),
        )


@dataclass(frozen=True, slots=True)
class FlowExport:
    """The export configuration of one bridge; None switches a protocol off."""

    ipfix: IpfixConfig | None = None
    netflow: NetflowConfig | None = None
    sflow: SflowConfig | None = None


_TABLES = {"ipfix": "IPFIX", "netflow": "NetFlow", "sflow": "sFlow"}


@dataclass(frozen=True, slots=True)
class SetFlowExport(Command[None]):
    """Make `bridge` export exactly as `export` says."""

    bridge: str
    export: FlowExport

    def run_idl(self, txn: TxnContext) -> None:
        bridge = txn.bridge(self.bridge)
        for column, table in _TABLES.items():
            config: IpfixConfig | NetflowConfig | SflowConfig | None = getattr(self.export, column)
            if config is None:
                setattr(bridge, column, [])
                continue
            row = optional(bridge, column)
            if row is None:
                row = txn.insert(table)
                setattr(bridge, column, [row])
            config.write(row)


@dataclass(frozen=True, slots=True)
class GetFlowExport(Command[FlowExport]):
    """Read the export configuration of `bridge`."""

    bridge: str

    def run_idl(self, txn: TxnContext) -> FlowExport:
        bridge = txn.bridge(self.bridge)
        ipfix, netflow, sflow = (optional(bridge, column) for column in _TABLES)
        return FlowExport(
            ipfix=IpfixConfig.read(ipfix) if ipfix is not None else None,
            netflow=NetflowConfig.read(netflow) if netflow is not None else None,
            sflow=SflowConfig.read(sflow) if sflow is not None else None,
        )
