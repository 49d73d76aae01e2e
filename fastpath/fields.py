"""The match fields pyantrea uses, and everything known about each one.

One row per field: its name as `ovs-ofctl` prints it, its OXM/NXM wire identity, width,
whether it takes a mask, how its value is written in text, and the prerequisites Open vSwitch
requires (an IPv4 source needs `eth_type=0x0800`, a TCP port needs `ip_proto=6` too).

The row order is the canonical order of a match: it is the order in which `ovs-ofctl
dump-flows` prints fields (lib/match.c `match_format`), so a canonical match renders by
walking its entries. `eth_type` and `ip_proto` print first as a protocol shorthand (`ip`,
`tcp`, `arp`...) when one applies, and are always encoded first on the wire because Open
vSwitch checks each OXM field's prerequisites against the fields before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# OXM classes (OpenFlow 1.5 section 7.2.3.2; NXM classes are Open vSwitch's).
OXM_NXM0 = 0x0000
OXM_NXM1 = 0x0001
OXM_BASIC = 0x8000

ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
IP_PROTO_ICMP = 1
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17
IP_PROTO_SCTP = 132


class Format(Enum):
    """How a field's value is written in ovs-ofctl text."""

    DECIMAL = "decimal"  # exact: 80; masked: 0x50/0xfff0
    HEX = "hex"  # 0x1e, 0x10000/0x10000
    IPV4 = "ipv4"  # 10.0.0.0/24 or 10.0.0.0/255.0.255.0
    MAC = "mac"  # aa:bb:cc:dd:ee:ff[/ff:ff:ff:00:00:00]
    CT_STATE = "ct_state"  # +trk-new
    ETH_TYPE = "eth_type"  # 0x0800


@dataclass(frozen=True, slots=True)
class Field:
    """One match field. `fid` is its canonical position and its id inside a Match."""

    fid: int
    name: str  # as ovs-ofctl prints it in a match
    oxm_class: int
    oxm_field: int
    nbytes: int
    maskable: bool
    fmt: Format
    eth_type: int | None = None  # prerequisite eth_type, if any
    ip_proto: int | None = None  # prerequisite ip_proto, if any
    nxm_name: str = ""  # NXM_* name used by `move:` in text
    set_field_name: str = ""  # name after `->` in `set_field:`
    bits: int = 0  # meaningful width when narrower than the wire (ct_state: 8 of 32 bits)

    @property
    def nbits(self) -> int:
        return self.bits or self.nbytes * 8

    @property
    def full_mask(self) -> int:
        return (1 << self.nbits) - 1

    @property
    def oxm_header(self) -> int:
        """The 32-bit OXM header of the exact (unmasked) form."""
        return (self.oxm_class << 16) | (self.oxm_field << 9) | self.nbytes


def _rows() -> list[Field]:
    rows: list[tuple] = [
        # name, class, field, bytes, maskable, format, eth_type, ip_proto, nxm name, set_field name
        ("pkt_mark", OXM_NXM1, 33, 4, True, Format.HEX, None, None, "NXM_NX_PKT_MARK", "pkt_mark"),
        ("conj_id", OXM_NXM1, 37, 4, False, Format.DECIMAL, None, None, "NXM_NX_CONJ_ID", "conj_id"),
        ("ct_state", OXM_NXM1, 105, 4, True, Format.CT_STATE, None, None, "NXM_NX_CT_STATE", "ct_state"),
        ("ct_zone", OXM_NXM1, 106, 2, False, Format.DECIMAL, None, None, "NXM_NX_CT_ZONE", "ct_zone"),
        ("ct_mark", OXM_NXM1, 107, 4, True, Format.HEX, None, None, "NXM_NX_CT_MARK", "ct_mark"),
        ("ct_label", OXM_NXM1, 108, 16, True, Format.HEX, None, None, "NXM_NX_CT_LABEL", "ct_label"),
    ]
    rows += [
        (f"reg{i}", OXM_NXM1, i, 4, True, Format.HEX, None, None, f"NXM_NX_REG{i}", f"reg{i}")
        for i in range(16)
    ]
    rows += [
        ("tun_id", OXM_BASIC, 38, 8, True, Format.HEX, None, None, "NXM_NX_TUN_ID", "tun_id"),
        ("tun_src", OXM_NXM1, 31, 4, True, Format.IPV4, None, None, "NXM_NX_TUN_IPV4_SRC", "tun_src"),
        ("tun_dst", OXM_NXM1, 32, 4, True, Format.IPV4, None, None, "NXM_NX_TUN_IPV4_DST", "tun_dst"),
        ("in_port", OXM_BASIC, 0, 4, False, Format.DECIMAL, None, None, "NXM_OF_IN_PORT", "in_port"),
        ("dl_src", OXM_BASIC, 4, 6, True, Format.MAC, None, None, "NXM_OF_ETH_SRC", "eth_src"),
        ("dl_dst", OXM_BASIC, 3, 6, True, Format.MAC, None, None, "NXM_OF_ETH_DST", "eth_dst"),
        ("dl_type", OXM_BASIC, 5, 2, False, Format.ETH_TYPE, None, None, "NXM_OF_ETH_TYPE", "eth_type"),
        ("nw_src", OXM_BASIC, 11, 4, True, Format.IPV4, ETH_TYPE_IP, None, "NXM_OF_IP_SRC", "ip_src"),
        ("nw_dst", OXM_BASIC, 12, 4, True, Format.IPV4, ETH_TYPE_IP, None, "NXM_OF_IP_DST", "ip_dst"),
        ("arp_spa", OXM_BASIC, 22, 4, True, Format.IPV4, ETH_TYPE_ARP, None, "NXM_OF_ARP_SPA", "arp_spa"),
        ("arp_tpa", OXM_BASIC, 23, 4, True, Format.IPV4, ETH_TYPE_ARP, None, "NXM_OF_ARP_TPA", "arp_tpa"),
        ("nw_proto", OXM_BASIC, 10, 1, False, Format.DECIMAL, ETH_TYPE_IP, None, "NXM_OF_IP_PROTO", "ip_proto"),
        ("arp_op", OXM_BASIC, 21, 2, False, Format.DECIMAL, ETH_TYPE_ARP, None, "NXM_OF_ARP_OP", "arp_op"),
        ("arp_sha", OXM_BASIC, 24, 6, True, Format.MAC, ETH_TYPE_ARP, None, "NXM_NX_ARP_SHA", "arp_sha"),
        ("arp_tha", OXM_BASIC, 25, 6, True, Format.MAC, ETH_TYPE_ARP, None, "NXM_NX_ARP_THA", "arp_tha"),
        ("icmp_type", OXM_BASIC, 19, 1, False, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_ICMP,
         "NXM_OF_ICMP_TYPE", "icmp_type"),
        ("icmp_code", OXM_BASIC, 20, 1, False, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_ICMP,
         "NXM_OF_ICMP_CODE", "icmp_code"),
        ("tcp_src", OXM_BASIC, 13, 2, True, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_TCP, "NXM_OF_TCP_SRC", "tcp_src"),
        ("tcp_dst", OXM_BASIC, 14, 2, True, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_TCP, "NXM_OF_TCP_DST", "tcp_dst"),
        ("udp_src", OXM_BASIC, 15, 2, True, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_UDP, "NXM_OF_UDP_SRC", "udp_src"),
        ("udp_dst", OXM_BASIC, 16, 2, True, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_UDP, "NXM_OF_UDP_DST", "udp_dst"),
        ("sctp_src", OXM_BASIC, 17, 2, True, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_SCTP,
         "OXM_OF_SCTP_SRC", "sctp_src"),
        ("sctp_dst", OXM_BASIC, 18, 2, True, Format.DECIMAL, ETH_TYPE_IP, IP_PROTO_SCTP,
         "OXM_OF_SCTP_DST", "sctp_dst"),
    ]  # fmt: skip
    return [
        Field(fid, name, cls, num, nbytes, maskable, fmt, eth, proto, nxm, setf, _NARROW.get(name, 0))
        for fid, (name, cls, num, nbytes, maskable, fmt, eth, proto, nxm, setf) in enumerate(rows)
    ]


# Open vSwitch keeps only 8 bits of ct_state, so a mask of 0xff already matches all of it.
_NARROW = {"ct_state": 8}


FIELDS: tuple[Field, ...] = tuple(_rows())
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Other spellings accepted on input (ovs-ofctl accepts these too); output always uses `name`.
ALIASES: dict[str, str] = {
    "eth_src": "dl_src",
    "eth_dst": "dl_dst",
    "eth_type": "dl_type",
    "ip_src": "nw_src",
    "ip_dst": "nw_dst",
    "ipv4_src": "nw_src",
    "ipv4_dst": "nw_dst",
    "ip_proto": "nw_proto",
    "icmpv4_type": "icmp_type",
    "icmpv4_code": "icmp_code",
    "tun_ipv4_src": "tun_src",
    "tun_ipv4_dst": "tun_dst",
    "tunnel_id": "tun_id",
}
for _field in FIELDS:
    ALIASES.setdefault(_field.nxm_name, _field.name)
    ALIASES.setdefault(_field.set_field_name, _field.name)
ALIASES = {k: v for k, v in ALIASES.items() if k and k != v}

# Transport ports written `tp_src`/`tp_dst` resolve to the field of the match's ip_proto.
TRANSPORT_PORTS: dict[int, tuple[str, str]] = {
    IP_PROTO_TCP: ("tcp_src", "tcp_dst"),
    IP_PROTO_UDP: ("udp_src", "udp_dst"),
    IP_PROTO_SCTP: ("sctp_src", "sctp_dst"),
}

# Protocol shorthands: name -> (eth_type, ip_proto or None).
PROTOCOLS: dict[str, tuple[int, int | None]] = {
    "ip": (ETH_TYPE_IP, None),
    "arp": (ETH_TYPE_ARP, None),
    "icmp": (ETH_TYPE_IP, IP_PROTO_ICMP),
    "tcp": (ETH_TYPE_IP, IP_PROTO_TCP),
    "udp": (ETH_TYPE_IP, IP_PROTO_UDP),
    "sctp": (ETH_TYPE_IP, IP_PROTO_SCTP),
}

# ct_state flag bits (lib/packets.h CS_*), in the order ovs-ofctl prints them.
CT_STATE_FLAGS: dict[str, int] = {
    "new": 0x01,
    "est": 0x02,
    "rel": 0x04,
    "rpl": 0x08,
    "inv": 0x10,
    "trk": 0x20,
    "snat": 0x40,
    "dnat": 0x80,
}

# xregN is the 64-bit pair (reg2N << 32) | reg2N+1, exactly as Open vSwitch defines it.
N_XREGS = 8


def lookup(name: str) -> Field:
    """The field called `name` (or one of its aliases); a clear KeyError otherwise."""
    field = BY_NAME.get(name)
    if field is None:
        alias = ALIASES.get(name)
        if alias is None:
            raise KeyError(f"unknown match field {name!r}")
        field = BY_NAME[alias]
    return field


FID = {f.name: f.fid for f in FIELDS}
DL_TYPE = FID["dl_type"]
NW_PROTO = FID["nw_proto"]
