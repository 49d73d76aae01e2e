"""Every register bit, conntrack mark and shared constant of the pipeline, bit by bit.

    reg0[0..3]   PKT_SOURCE        where the packet entered br-int: 1 tunnel, 2 gateway, 3 pod
    reg0[16]     OUTPUT_PORT_FOUND  reg1 holds the port L2ForwardingOut outputs to
    reg0[17]     REWRITE_MAC       arrived through the tunnel addressed to the virtual MAC:
                                   L3Forwarding rewrites both MACs for the local destination
    reg1         TARGET_OFPORT     the output port (set by DNAT, L3Forwarding, L2ForwardingCalc)
    reg3         ENDPOINT_IP       the Service endpoint a group bucket (or a learned flow) chose
    reg4[0..15]  ENDPOINT_PORT     its port
    reg4[16..18] ENDPOINT_STATE    0 to select (a packet starts so), 1 selected, 2 selected and
                                   to be learned (session affinity)
    reg4[19]     NODE_PORT         addressed to one of this node's NodePort addresses
    reg4[21]     EXTERNAL          addressed to an external address of a Service (NodePort,
                                   LoadBalancer ingress IP, externalIP)
    reg7         SERVICE_GROUP     the group id of the Service port being load-balanced
    reg5         EGRESS_CONJ_ID    the conj_id of the egress rule that allowed the packet
    reg6         INGRESS_CONJ_ID   the conj_id of the ingress rule that allowed the packet
    ct_mark=0x20 FROM_GATEWAY_CT_MARK  the connection was started from the gateway (host,
                                   kube-proxy): its replies must go back through gw0
    ct_label[0..31]   INGRESS_RULE_CT_LABEL  the ingress rule's conj_id that allowed the
                                   connection (reg6 at commit)
    ct_label[32..63]  EGRESS_RULE_CT_LABEL   the egress rule's conj_id (reg5 at commit)
    ct_mark=0x10 SERVICE_CT_MARK   the connection was DNATed to a Service endpoint
    ct_mark=0x40 HAIRPIN_CT_MARK   a pod reached itself through a Service: SNAT to the gateway IP,
                                   out of the port it came in
    ct_mark=0x80 SNAT_CT_MARK      external Service traffic from the gateway sent to a remote
                                   endpoint: SNAT to the gateway IP, so replies come back here
    zone 65520   CT_ZONE           the conntrack zone of every pod connection; Service DNAT too
    zone 65521   SNAT_CT_ZONE      the zone of Service SNAT (hairpin and external traffic)

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
SNAT_CT_ZONE = 65521
FROM_GATEWAY_CT_MARK = 0x20
SERVICE_CT_MARK = 0x10
HAIRPIN_CT_MARK = 0x40
SNAT_CT_MARK = 0x80


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
ENDPOINT_IP = RegField("reg3", 0, 31)
ENDPOINT_PORT = RegField("reg4", 0, 15)
ENDPOINT_STATE = RegField("reg4", 16, 18)
EP_TO_SELECT = RegMark(ENDPOINT_STATE, 0)
EP_SELECTED = RegMark(ENDPOINT_STATE, 1)
EP_TO_LEARN = RegMark(ENDPOINT_STATE, 2)
NODE_PORT = RegMark(RegField("reg4", 19, 19), 1)
EXTERNAL = RegMark(RegField("reg4", 21, 21), 1)
SERVICE_GROUP = RegField("reg7", 0, 31)
EGRESS_CONJ_ID = RegField("reg5", 0, 31)
INGRESS_CONJ_ID = RegField("reg6", 0, 31)

INGRESS_RULE_CT_LABEL = CtLabelField(0, 31)
EGRESS_RULE_CT_LABEL = CtLabelField(32, 63)
