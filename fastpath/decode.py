"""Decoding what Open vSwitch sends back: headers, errors, flow descriptions, matches, actions.

This is the cold path (errors, dumps for tools and restart checks), so it is plain Python with
`struct`. It decodes exactly the fields and actions `fastpath` encodes, which makes
encode-then-decode a round trip that tests rely on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fastpath import fields
from fastpath._actions import (
    Action,
    Conjunction,
    Ct,
    DecTtl,
    GotoTable,
    Group,
    Learn,
    Move,
    Nat,
    Output,
    OutputReg,
    Resubmit,
    SetField,
    learn_load,
    learn_match,
)
from fastpath._flow import Flow
from fastpath._group import TYPE_NAMES, Bucket
from fastpath._group import Group as SwitchGroup
from fastpath._match import Match, match_from_entries

HEADER = struct.Struct("!BBHI")
NX_VENDOR_ID = 0x00002320
OXM_PACKET_REGS = 0x8001  # xreg0-xreg7, as Open vSwitch reports reg0-reg15 in OpenFlow 1.5

_BY_OXM = {(f.oxm_class, f.oxm_field): f for f in fields.FIELDS}
# Open vSwitch writes fields inside learn() with their NXM headers (class 0, Nicira's numbers).
_NXM0 = {
    0: "in_port", 1: "dl_dst", 2: "dl_src", 3: "dl_type", 6: "nw_proto", 7: "nw_src", 8: "nw_dst",
    9: "tcp_src", 10: "tcp_dst", 11: "udp_src", 12: "udp_dst", 13: "icmp_type", 14: "icmp_code",
    15: "arp_op", 16: "arp_spa", 17: "arp_tpa",
}  # fmt: skip
_BY_OXM.update({(fields.OXM_NXM0, number): fields.BY_NAME[name] for number, name in _NXM0.items()})

ERROR_TYPES = {
    0: "HELLO_FAILED",
    1: "BAD_REQUEST",
    2: "BAD_ACTION",
    3: "BAD_INSTRUCTION",
    4: "BAD_MATCH",
    5: "FLOW_MOD_FAILED",
    6: "GROUP_MOD_FAILED",
    7: "PORT_MOD_FAILED",
    8: "TABLE_MOD_FAILED",
    9: "QUEUE_OP_FAILED",
    10: "SWITCH_CONFIG_FAILED",
    11: "ROLE_REQUEST_FAILED",
    12: "METER_MOD_FAILED",
    13: "TABLE_FEATURES_FAILED",
    17: "BUNDLE_FAILED",
    0xFFFF: "EXPERIMENTER",
}
ERROR_CODES = {
    "BAD_REQUEST": "BAD_VERSION BAD_TYPE BAD_MULTIPART BAD_EXPERIMENTER BAD_EXP_TYPE EPERM BAD_LEN "
    "BUFFER_EMPTY BUFFER_UNKNOWN BAD_TABLE_ID IS_SLAVE BAD_PORT BAD_PACKET MULTIPART_BUFFER_OVERFLOW",
    "BAD_ACTION": "BAD_TYPE BAD_LEN BAD_EXPERIMENTER BAD_EXP_TYPE BAD_OUT_PORT BAD_ARGUMENT EPERM TOO_MANY "
    "BAD_QUEUE BAD_OUT_GROUP MATCH_INCONSISTENT UNSUPPORTED_ORDER BAD_TAG BAD_SET_TYPE BAD_SET_LEN "
    "BAD_SET_ARGUMENT",
    "BAD_INSTRUCTION": "UNKNOWN_INST UNSUP_INST BAD_TABLE_ID UNSUP_METADATA UNSUP_METADATA_MASK "
    "BAD_EXPERIMENTER BAD_EXP_TYPE BAD_LEN EPERM DUP_INST",
    "BAD_MATCH": "BAD_TYPE BAD_LEN BAD_TAG BAD_DL_ADDR_MASK BAD_NW_ADDR_MASK BAD_WILDCARDS BAD_FIELD "
    "BAD_VALUE BAD_MASK BAD_PREREQ DUP_FIELD EPERM",
    "FLOW_MOD_FAILED": "UNKNOWN TABLE_FULL BAD_TABLE_ID OVERLAP EPERM BAD_TIMEOUT BAD_COMMAND BAD_FLAGS "
    "CANT_SYNC BAD_PRIORITY IS_SYNC",
    "GROUP_MOD_FAILED": "GROUP_EXISTS INVALID_GROUP WEIGHT_UNSUPPORTED OUT_OF_GROUPS OUT_OF_BUCKETS "
    "CHAINING_UNSUPPORTED WATCH_UNSUPPORTED LOOP UNKNOWN_GROUP CHAINED_GROUP BAD_TYPE BAD_COMMAND "
    "BAD_BUCKET BAD_WATCH EPERM",
    "BUNDLE_FAILED": "UNKNOWN EPERM BAD_ID BUNDLE_EXIST BUNDLE_CLOSED OUT_OF_BUNDLES BAD_TYPE BAD_FLAGS "
    "MSG_BAD_LEN MSG_BAD_XID MSG_UNSUP MSG_CONFLICT MSG_TOO_MANY MSG_FAILED TIMEOUT BUNDLE_IN_PROGRESS",
}


class DecodeError(ValueError):
    """Bytes that are not a message pyantrea can read."""


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    type: int
    length: int
    xid: int


def decode_header(data: bytes) -> Header:
    if len(data) < 8:
        raise DecodeError(f"truncated OpenFlow header ({len(data)} bytes)")
    return Header(*HEADER.unpack_from(data))


@dataclass(frozen=True, slots=True)
class OpenFlowErrorInfo:
    """An OFPT_ERROR: type and code (with names), and the start of the offending message."""

    type: int
    code: int
    data: bytes

    @property
    def name(self) -> str:
        type_name = ERROR_TYPES.get(self.type, str(self.type))
        if self.type == 0xFFFF:
            return f"EXPERIMENTER(code={self.code})"
        codes = ERROR_CODES.get(type_name, "").split()
        code_name = codes[self.code] if self.code < len(codes) else str(self.code)
        return f"{type_name}.{code_name}"

    @property
    def offending_xid(self) -> int | None:
        return HEADER.unpack_from(self.data)[3] if len(self.data) >= 8 else None


def decode_error(msg: bytes) -> OpenFlowErrorInfo:
    err_type, code = struct.unpack_from("!HH", msg, 8)
    data = msg[12:]
    if err_type == 0xFFFF and len(msg) >= 16:  # experimenter: exp_code, experimenter id, data
        code = struct.unpack_from("!H", msg, 10)[0]
        data = msg[16:]
    return OpenFlowErrorInfo(err_type, code, data)


# -- matches ------------------------------------------------------------------------------------


def _split_xreg(index: int, value: int, mask: int | None) -> list[tuple[int, int, int | None]]:
    """Open vSwitch reports register pairs as one 64-bit xreg; split it back into reg2N, reg2N+1."""
    mask = 0xFFFF_FFFF_FFFF_FFFF if mask is None else mask
    halves = []
    for reg, shift in ((2 * index, 32), (2 * index + 1, 0)):
        half_mask = (mask >> shift) & 0xFFFF_FFFF
        if half_mask:
            halves.append((fields.FID[f"reg{reg}"], (value >> shift) & half_mask, half_mask))
    return halves


def decode_oxm(data: bytes) -> Match:
    """OXM TLVs to a Match (re-validated, so the result is canonical)."""
    entries: list[tuple[int, int, int | None]] = []
    offset = 0
    while offset + 4 <= len(data):
        (header,) = struct.unpack_from("!I", data, offset)
        oxm_class, oxm_field, has_mask, length = (
            header >> 16,
            (header >> 9) & 0x7F,
            (header >> 8) & 1,
            header & 0xFF,
        )
        payload = data[offset + 4 : offset + 4 + length]
        offset += 4 + length
        width = length // 2 if has_mask else length
        value = int.from_bytes(payload[:width], "big")
        mask = int.from_bytes(payload[width:], "big") if has_mask else None
        if oxm_class == OXM_PACKET_REGS:
            entries.extend(_split_xreg(oxm_field, value, mask))
            continue
        field = _BY_OXM.get((oxm_class, oxm_field))
        if field is None:
            raise DecodeError(f"unsupported OXM field class={oxm_class:#x} field={oxm_field}")
        entries.append((field.fid, value, mask))
    entries.sort()
    return match_from_entries(tuple(x for entry in entries for x in entry))


def decode_ofp_match(data: bytes, offset: int) -> tuple[Match, int]:
    """An ofp_match at `offset`: the Match and the offset just past its padding."""
    match_type, length = struct.unpack_from("!HH", data, offset)
    if match_type != 1:
        raise DecodeError(f"unsupported match type {match_type}")
    match = decode_oxm(data[offset + 4 : offset + length])
    return match, offset + ((length + 7) & ~7)


# -- actions ------------------------------------------------------------------------------------


def _oxm_field(header: int) -> fields.Field:
    field = _BY_OXM.get((header >> 16, (header >> 9) & 0x7F))
    if field is None:
        raise DecodeError(f"unsupported field header {header:#x}")
    return field


def decode_actions(data: bytes) -> list[Action]:
    actions: list[Action] = []
    offset = 0
    while offset + 4 <= len(data):
        action_type, length = struct.unpack_from("!HH", data, offset)
        if length < 8:
            raise DecodeError(f"action of length {length}")
        body = data[offset : offset + length]
        actions.append(_decode_action(action_type, body))
        offset += length
    return actions


def _decode_action(action_type: int, body: bytes) -> Action:
    if action_type == 0:
        return Output(struct.unpack_from("!I", body, 4)[0])
    if action_type == 22:
        return Group(struct.unpack_from("!I", body, 4)[0])
    if action_type == 24:
        return DecTtl()
    if action_type == 25:
        (header,) = struct.unpack_from("!I", body, 4)
        field = _oxm_field(header)
        width = field.nbytes
        value = int.from_bytes(body[8 : 8 + width], "big")
        mask = int.from_bytes(body[8 + width : 8 + 2 * width], "big") if header & 0x100 else None
        return SetField(field.name, value, mask)
    if action_type == 28:
        n_bits, src_ofs, dst_ofs = struct.unpack_from("!HHH", body, 4)
        src, dst = struct.unpack_from("!II", body, 12)
        return Move(_oxm_field(src).name, _oxm_field(dst).name, src_ofs, dst_ofs, n_bits)
    if action_type == 0xFFFF:
        vendor, subtype = struct.unpack_from("!IH", body, 4)
        if vendor == NX_VENDOR_ID:
            return _decode_nx_action(subtype, body)
    raise DecodeError(f"unsupported action type {action_type}")


def _decode_nx_action(subtype: int, body: bytes) -> Action:
    if subtype == 14:
        return Resubmit(body[12])
    if subtype == 15:
        ofs_nbits, src = struct.unpack_from("!HI", body, 10)
        start = ofs_nbits >> 6
        return OutputReg(_oxm_field(src).name, start, start + (ofs_nbits & 0x3F))
    if subtype == 34:
        clause, n_clauses, conj_id = struct.unpack_from("!BBI", body, 10)
        return Conjunction(conj_id, clause + 1, n_clauses)
    if subtype == 35:
        flags, _zone_src, zone, table = struct.unpack_from("!HIHB", body, 10)
        nested = decode_actions(body[24:])
        nat = nested[0] if nested and isinstance(nested[0], Nat) else None
        return Ct(
            commit=bool(flags & 1),
            force=bool(flags & 2),
            table=None if table == 0xFF else table,
            zone=zone,
            nat=nat,
            actions=tuple(nested[1:] if nat else nested),
        )
    if subtype == 36:
        return _decode_nat(body)
    if subtype == 16:
        return _decode_learn(body)
    raise DecodeError(f"unsupported Nicira action subtype {subtype}")


def _decode_nat(body: bytes) -> Nat:
    flags, present = struct.unpack_from("!HH", body, 12)
    offset = 16
    values: dict[str, int] = {}
    for bit, name, size in ((1, "ip_min", 4), (2, "ip_max", 4), (16, "port_min", 2), (32, "port_max", 2)):
        if present & bit:
            values[name] = int.from_bytes(body[offset : offset + size], "big")
            offset += size
    kind = "src" if flags & 1 else "dst" if flags & 2 else None
    return Nat(kind, **values)


def _decode_learn(body: bytes) -> Learn:
    idle, hard, priority, cookie, flags, table = struct.unpack_from("!HHHQHB", body, 10)
    specs = []
    offset = 32
    while offset + 2 <= len(body):
        (header,) = struct.unpack_from("!H", body, offset)
        if header == 0:
            break
        offset += 2
        n_bits, immediate, dst_type = header & 0x3FF, header >> 13 & 1, header >> 11 & 3
        src = src_start = value = None
        if immediate:
            nbytes = (n_bits + 15) // 16 * 2
            value = int.from_bytes(body[offset : offset + nbytes], "big")
            offset += nbytes
        else:
            src_header, src_start = struct.unpack_from("!IH", body, offset)
            src = _oxm_field(src_header).name
            offset += 6
        if dst_type > 1:
            raise DecodeError("learn: output specs are not supported")
        dst_header, dst_start = struct.unpack_from("!IH", body, offset)
        offset += 6
        make = learn_load if dst_type else learn_match
        dst = _oxm_field(dst_header).name
        specs.append(make(dst, dst_start, dst_start + n_bits - 1, src=src, src_start=src_start, value=value))
    return Learn(
        table,
        priority=priority,
        idle_timeout=idle,
        hard_timeout=hard,
        cookie=cookie,
        delete_learned=bool(flags & 2),
        specs=specs,
    )


def decode_instructions(data: bytes) -> tuple[Action, ...]:
    actions: list[Action] = []
    offset = 0
    while offset + 4 <= len(data):
        inst_type, length = struct.unpack_from("!HH", data, offset)
        if inst_type == 4:  # APPLY_ACTIONS
            actions.extend(decode_actions(data[offset + 8 : offset + length]))
        elif inst_type == 1:  # GOTO_TABLE
            actions.append(GotoTable(data[offset + 4]))
        else:
            raise DecodeError(f"unsupported instruction type {inst_type}")
        offset += length
    return tuple(actions)


# -- flow descriptions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowStats:
    """One flow as the switch reports it, with its counters."""

    flow: Flow
    packets: int
    bytes: int
    duration_seconds: float


# OpenFlow 1.5 `oxs_ofb_stat_fields`: duration 0, idle_time 1, flow_count 3, packet_count 4,
# byte_count 5.
_OXS_DURATION = 0
_OXS_PACKET_COUNT = 4
_OXS_BYTE_COUNT = 5


def _decode_oxs(data: bytes) -> tuple[int, int, float]:
    packets = byte_count = 0
    duration = 0.0
    offset = 4  # ofp_stats: reserved(2), length(2)
    while offset + 4 <= len(data):
        (header,) = struct.unpack_from("!I", data, offset)
        stat_field, length = (header >> 9) & 0x7F, header & 0xFF
        if stat_field == _OXS_PACKET_COUNT:
            (packets,) = struct.unpack_from("!Q", data, offset + 4)
        elif stat_field == _OXS_BYTE_COUNT:
            (byte_count,) = struct.unpack_from("!Q", data, offset + 4)
        elif stat_field == _OXS_DURATION:
            seconds, nanos = struct.unpack_from("!II", data, offset + 4)
            duration = seconds + nanos / 1e9
        offset += 4 + length
    return packets, byte_count, duration


def decode_flow_desc_reply(body: bytes) -> list[FlowStats]:
    """The body of one OFPMP_FLOW_DESC multipart reply (after its 16-byte header)."""
    result = []
    offset = 0
    while offset + 24 <= len(body):
        length, table, priority, cookie = (
            struct.unpack_from("!H", body, offset)[0],
            body[offset + 4],
            struct.unpack_from("!H", body, offset + 6)[0],
            struct.unpack_from("!Q", body, offset + 16)[0],
        )
        entry = body[offset : offset + length]
        match, stats_offset = decode_ofp_match(entry, 24)
        (stats_length,) = struct.unpack_from("!H", entry, stats_offset + 2)
        packets, byte_count, duration = _decode_oxs(entry[stats_offset : stats_offset + stats_length])
        instructions_offset = stats_offset + ((stats_length + 7) & ~7)
        actions = decode_instructions(entry[instructions_offset:])
        result.append(FlowStats(Flow(table, priority, match, actions, cookie), packets, byte_count, duration))
        offset += length
    return result


def decode_flow_desc_cookies(body: bytes) -> set[int]:
    """The cookies of the flows in a OFPMP_FLOW_DESC reply body, without decoding the flows:
    what a caller that only tells rounds apart needs, at a few bytes per flow rather than the
    kilobyte a decoded flow (match, actions) takes when the switch holds 100,000 of them."""
    cookies = set()
    offset = 0
    while offset + 24 <= len(body):
        (length,) = struct.unpack_from("!H", body, offset)
        if length < 24:
            raise ValueError(f"flow entry at offset {offset} is {length} bytes long (at least 24)")
        cookies.add(struct.unpack_from("!Q", body, offset + 16)[0])
        offset += length
    return cookies


# -- groups ---------------------------------------------------------------------------------------


def _decode_bucket(data: bytes) -> Bucket:
    length, actions_len, bucket_id = struct.unpack_from("!HHI", data, 0)
    actions = decode_actions(data[8 : 8 + actions_len])
    weight = 100
    offset = 8 + actions_len
    while offset + 4 <= length:
        prop_type, prop_len = struct.unpack_from("!HH", data, offset)
        if prop_type == 0:  # OFPGBPT15_WEIGHT
            (weight,) = struct.unpack_from("!H", data, offset + 4)
        offset += (prop_len + 7) & ~7 if prop_len else 8
    return Bucket(actions, weight, bucket_id)


def _selection_method(props: bytes) -> tuple[str | None, list[str]]:
    """The NTRT_SELECTION_METHOD property among a group's properties, if any."""
    offset = 0
    while offset + 4 <= len(props):
        prop_type, length = struct.unpack_from("!HH", props, offset)
        if length < 4:
            break
        if prop_type == 0xFFFF and length >= 40:
            experimenter, exp_type = struct.unpack_from("!II", props, offset + 4)
            if experimenter in (0x0000154D, 0x00001540) and exp_type == 1:  # NTR_VENDOR_ID, its old value
                method = props[offset + 16 : offset + 32].rstrip(b"\0").decode()
                names = []
                at = offset + 40
                while at + 4 <= offset + length:
                    (header,) = struct.unpack_from("!I", props, at)
                    names.append(_oxm_field(header).name)
                    at += 4 + (header & 0xFF)
                return method, names
        offset += (length + 7) & ~7
    return None, []


def decode_group_desc_reply(body: bytes) -> list[SwitchGroup]:
    """The body of OFPMP_GROUP_DESC multipart replies (OpenFlow 1.5 ofp15_group_desc_stats)."""
    result = []
    offset = 0
    while offset + 16 <= len(body):
        length, group_type, group_id, bucket_list_len = struct.unpack_from("!HBxIH", body, offset)
        buckets = []
        at = offset + 16
        end = at + bucket_list_len
        while at + 8 <= end:
            (bucket_len,) = struct.unpack_from("!H", body, at)
            buckets.append(_decode_bucket(body[at : at + bucket_len]))
            at += bucket_len
        method, selection_fields = _selection_method(body[end : offset + length])
        type_name = TYPE_NAMES.get(group_type)
        if type_name is None:
            raise DecodeError(f"group {group_id} has unknown type {group_type}")
        if type_name != "select":
            buckets = [Bucket(b.actions, 100, b.bucket_id) for b in buckets]
        result.append(SwitchGroup(group_id, buckets, type_name, method, selection_fields))
        offset += length
    return result


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group's counters: packets and bytes, and packets per bucket."""

    group_id: int
    packets: int
    bytes: int
    bucket_packets: tuple[int, ...]


def decode_group_stats_reply(body: bytes) -> list[GroupStats]:
    """The body of OFPMP_GROUP_STATS replies (ofp13_group_stats, then 16 bytes per bucket)."""
    result = []
    offset = 0
    while offset + 40 <= len(body):
        length, group_id, _refs, packets, byte_count = struct.unpack_from("!H2xII4xQQ", body, offset)
        counters = range(offset + 40, offset + length, 16)
        buckets = tuple(struct.unpack_from("!Q", body, at)[0] for at in counters)
        result.append(GroupStats(group_id, packets, byte_count, buckets))
        offset += length
    return result


@dataclass(frozen=True, slots=True)
class PacketIn:
    """An OFPT_PACKET_IN: why, from which table and flow cookie, the match (in_port...) and
    the packet bytes."""

    reason: int
    table: int
    cookie: int
    match: Match
    data: bytes
    in_port: int | None = None


def decode_packet_in(msg: bytes) -> PacketIn:
    """OpenFlow 1.5 packet-in: buffer_id, total_len, reason, table_id, cookie, match, pad 2, data."""
    _buffer_id, _total_len, reason, table, cookie = struct.unpack_from("!IHBBQ", msg, 8)
    (length,) = struct.unpack_from("!H", msg, 26)
    offset = 24 + ((length + 7) & ~7)
    try:
        match = decode_ofp_match(msg, 24)[0]
    except DecodeError:  # pipeline fields pyantrea has no name for: the packet is what matters
        match = Match()
    in_port = None
    at = 28
    while at + 4 <= 24 + length:
        (header,) = struct.unpack_from("!I", msg, at)
        if header >> 9 == 0x8000 << 7:  # OXM_OF_IN_PORT (class 0x8000, field 0)
            (in_port,) = struct.unpack_from("!I", msg, at + 4)
        at += 4 + (header & 0xFF)
    return PacketIn(reason, table, cookie, match, msg[offset + 2 :], in_port)
