"""Every register bit, conntrack mark and shared constant of the pipeline, bit by bit.

    reg0[0..3]   PKT_SOURCE        where the packet entered br-int: 1 tunnel, 2 gateway, 3 pod
    reg0[16]     OUTPUT_PORT_FOUND  reg1 holds the port L2ForwardingOut outputs to
    reg0[17]     REWRITE_MAC       arrived through the tunnel addressed to the virtual MAC:
                                   L3Forwarding rewrites both MACs for the local destination
    reg1         TARGET_OFPORT     the output port (set by DNAT, L3Forwarding, L2ForwardingCalc)
    reg5         EGRESS_CONJ_ID    the conj_id of the egress rule that allowed the packet
    reg6         INGRESS_CONJ_ID   the conj_id of the ingress rule that allowed the packet
    ct_mark=0x20 FROM_GATEWAY_CT_MARK  the connection was started from the gateway (host,
                                   kube-proxy): its replies must go back through gw0
    ct_label[0..31]   INGRESS_RULE_CT_LABEL  the ingress rule's conj_id that allowed the
                                   connection (reg6 at commit)
    ct_label[32..63]  EGRESS_RULE_CT_LABEL   the egress rule's conj_id (reg5 at commit)
    zone 65520   CT_ZONE           the conntrack zone of every pod connection

A `RegMark` is a value in a `RegField`; `reg_match` merges several marks on one register into
the single (value, mask) a match holds, and `RegMark.load()` is the action that sets it. A
`CtLabelField` is a range of the connection's ct_label: `save(reg_field)` is the action, inside
ct(commit, exec(...)), that records a register in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastpath import actions as A

VIRTUAL_MAC = "aa:bb:cc:dd:ee:ff"
"""The global virtual MAC: destination of tunnelled packets, and the ARP answer for peer gateways."""

CT_ZONE = 65520
FROM_GATEWAY_CT_MARK = 0x20


@dataclass(frozen=True, slots=True)
class RegField:
    """Bits start..end (inclusive) of register `reg`."""

    reg: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end <= 31:
            raise ValueError(f"{self.reg}[{self.start}..{self.end}] is not inside a 32-bit register")

    @property
    def mask(self) -> int:
        return ((1 << (self.end - self.start + 1)) - 1) << self.start

    def load(self, value: int) -> A.SetField:
        """The action that writes `value` into the field, leaving the register's other bits."""
        return A.load(self.reg, value, self.start, self.end)

    def match(self, value: int) -> dict[str, tuple[int, int]]:
        """Match fields for `value` in this field: `Match(**field.match(3))`."""
        if not 0 <= value <= self.mask >> self.start:
            raise ValueError(f"{value} does not fit in {self.reg}[{self.start}..{self.end}]")
        return {self.reg: (value << self.start, self.mask)}


@dataclass(frozen=True, slots=True)
class RegMark:
    """One meaningful value of a field."""

    field: RegField
    value: int

    def load(self) -> A.SetField:
        return self.field.load(self.value)


@dataclass(frozen=True, slots=True)
class CtLabelField:
    """Bits start..end (inclusive) of the connection's 128-bit ct_label."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end <= 127:
            raise ValueError(f"ct_label[{self.start}..{self.end}] is not inside the 128-bit label")

    @property
    def mask(self) -> int:
        return ((1 << (self.end - self.start + 1)) - 1) << self.start

    def save(self, source: RegField) -> A.Move:
        """The action (inside ct's exec()) that copies the register field into this range."""
        if source.end - source.start != self.end - self.start:
            raise ValueError(f"{source.reg}[{source.start}..{source.end}] does not fit {self}")
        return A.Move(source.reg, "ct_label", source.start, self.start, self.end - self.start + 1)

    def match(self, value: int) -> dict[str, tuple[int, int]]:
        """Match fields for `value` in this range: `Match(**label.match(7))`."""
        if not 0 <= value <= self.mask >> self.start:
            raise ValueError(f"{value} does not fit in ct_label[{self.start}..{self.end}]")
        return {"ct_label": (value << self.start, self.mask)}


def reg_match(*marks: RegMark) -> dict[str, tuple[int, int]]:
    """Match fields for all `marks`, merged per register."""
    merged: dict[str, tuple[int, int]] = {}
    for mark in marks:
        value, mask = mark.field.match(mark.value)[mark.field.reg]
        old_value, old_mask = merged.get(mark.field.reg, (0, 0))
        if old_mask & mask:
            raise ValueError(f"marks overlap in {mark.field.reg}: {marks}")
        merged[mark.field.reg] = (old_value | value, old_mask | mask)
    return merged


PKT_SOURCE = RegField("reg0", 0, 3)
FROM_TUNNEL = RegMark(PKT_SOURCE, 1)
FROM_GATEWAY = RegMark(PKT_SOURCE, 2)
FROM_POD = RegMark(PKT_SOURCE, 3)

OUTPUT_PORT_FOUND = RegMark(RegField("reg0", 16, 16), 1)
REWRITE_MAC = RegMark(RegField("reg0", 17, 17), 1)

TARGET_OFPORT = RegField("reg1", 0, 31)
EGRESS_CONJ_ID = RegField("reg5", 0, 31)
INGRESS_CONJ_ID = RegField("reg6", 0, 31)

INGRESS_RULE_CT_LABEL = CtLabelField(0, 31)
EGRESS_RULE_CT_LABEL = CtLabelField(32, 63)
