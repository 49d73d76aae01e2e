"""Flows as ovs-ofctl text: rendering and parsing.

Rendering follows `ovs-ofctl -O OpenFlow15 --no-stats dump-flows` for every field and action
pyantrea uses (field order from lib/match.c `match_format`, values formatted as Open vSwitch
formats them), so a rendered flow reads exactly like the line a user greps for on a node, and
`ovs-ofctl add-flow` accepts it. Parsing accepts those lines (statistics included) and the
usual ovs-ofctl input spellings (`load:`, `mod_dl_src:`, `resubmit:`...).
"""

from __future__ import annotations

import re

from fastpath import fields
from fastpath._actions import (
    RESERVED_PORTS,
    Action,
    ActionError,
    Conjunction,
    Ct,
    DecTtl,
    Drop,
    GotoTable,
    Group,
    Learn,
    LearnSpec,
    Move,
    Nat,
    Output,
    OutputReg,
    Resubmit,
    SetField,
    learn_load,
    learn_match,
    load,
)
from fastpath._flow import Flow, FlowError
from fastpath._group import Bucket, GroupError
from fastpath._group import Group as SwitchGroup
from fastpath._match import Match, MatchError, match_from_entries
from fastpath.fields import ETH_TYPE_ARP, ETH_TYPE_IP, Field, Format

_PROTO_NAMES = {
    fields.IP_PROTO_ICMP: "icmp",
    fields.IP_PROTO_TCP: "tcp",
    fields.IP_PROTO_UDP: "udp",
    fields.IP_PROTO_SCTP: "sctp",
}
_FIRST_AFTER_SHORTHAND = fields.FID["reg0"]
_PORT_FIELD_NAMES = {
    name: ("tp_src" if name.endswith("_src") else "tp_dst")
    for names in fields.TRANSPORT_PORTS.values()
    for name in names
}
_DEFAULT_PRIORITY = 32768
# Keys of a dump-flows line that are statistics, not part of the flow.
_STAT_KEYS = frozenset(
    {"duration", "n_packets", "n_bytes", "idle_age", "hard_age", "idle_timeout", "hard_timeout", "importance"}
)


class ParseError(ValueError):
    """Text that is not a flow pyantrea understands; the message quotes the bad part."""


# -- values ------------------------------------------------------------------------------------


def _c_hex(value: int) -> str:
    """printf("%#x"): like Python's hex() but 0 prints as "0"."""
    return hex(value) if value else "0"


def _ipv4(value: int) -> str:
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _mac(value: int) -> str:
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def _prefix_len(mask: int, nbits: int) -> int | None:
    inverted = ~mask & ((1 << nbits) - 1)
    if inverted & (inverted + 1):
        return None
    return nbits - inverted.bit_length()


def _ct_state(value: int, mask: int | None) -> str:
    names = list(fields.CT_STATE_FLAGS.items())
    if mask is None or mask & 0xFF == 0xFF:
        flags = [name for name, bit in names if value & bit]
        return "|".join(flags) if flags else "0"
    return "".join(("+" if value & bit else "-") + name for name, bit in names if mask & bit)


def format_value(field: Field, value: int, mask: int | None) -> str:
    """A field's value (and mask) exactly as Open vSwitch prints it."""
    fmt = field.fmt
    if fmt is Format.IPV4:
        if mask is None:
            return _ipv4(value)
        prefix = _prefix_len(mask, 32)
        return f"{_ipv4(value)}/{prefix}" if prefix is not None else f"{_ipv4(value)}/{_ipv4(mask)}"
    if fmt is Format.MAC:
        return _mac(value) if mask is None else f"{_mac(value)}/{_mac(mask)}"
    if fmt is Format.CT_STATE:
        return _ct_state(value, mask)
    if fmt is Format.ETH_TYPE:
        return f"0x{value:04x}"
    if fmt is Format.DECIMAL and mask is None:
        return str(value)
    if field.name == "ct_label":
        return hex(value) if mask is None else f"{hex(value)}/{hex(mask)}"
    return _c_hex(value) if mask is None else f"{_c_hex(value)}/{_c_hex(mask)}"


# -- rendering -------------------------------------------------------------------------------------


def render_match(match: Match) -> str:
    """The match as ovs-ofctl prints it (without priority)."""
    entries = match.entries
    present = {entries[i]: (entries[i + 1], entries[i + 2]) for i in range(0, len(entries), 3)}
    eth_type = present.get(fields.DL_TYPE, (None, None))[0]
    ip_proto = present.get(fields.NW_PROTO, (None, None))[0]
    shorthand = None
    skip = set()
    if eth_type == ETH_TYPE_IP:
        shorthand = _PROTO_NAMES.get(ip_proto, "ip") if ip_proto is not None else "ip"
        skip.add(fields.DL_TYPE)
        if ip_proto in _PROTO_NAMES:
            skip.add(fields.NW_PROTO)
    elif eth_type == ETH_TYPE_ARP:
        shorthand = "arp"
        skip.add(fields.DL_TYPE)
    parts: list[str] = []
    for fid, (value, mask) in present.items():
        if shorthand is not None and fid >= _FIRST_AFTER_SHORTHAND:
            parts.append(shorthand)
            shorthand = None
        if fid in skip:
            continue
        field = fields.FIELDS[fid]
        name = _PORT_FIELD_NAMES.get(field.name, field.name)
        parts.append(f"{name}={format_value(field, value, mask)}")
    if shorthand is not None:
        parts.append(shorthand)
    return ",".join(parts)


def _bit_range(field: Field, start: int, end: int) -> str:
    if start == 0 and end == field.nbits - 1:
        return "[]"
    return f"[{start}]" if start == end else f"[{start}..{end}]"


def render_action(action: Action) -> str:
    """One action as ovs-ofctl prints it in an OpenFlow 1.5 dump."""
    if isinstance(action, Output):
        name = RESERVED_PORTS.get(action.port)
        if name is None:
            return f"output:{action.port}"
        return "CONTROLLER:65535" if name == "CONTROLLER" else name
    if isinstance(action, OutputReg):
        field = fields.BY_NAME[action.field]
        return f"output:{field.nxm_name}{_bit_range(field, action.start, action.end)}"
    if isinstance(action, Resubmit):
        return f"resubmit(,{action.table})"
    if isinstance(action, GotoTable):
        return f"goto_table:{action.table}"
    if isinstance(action, Conjunction):
        return f"conjunction({action.id},{action.clause}/{action.n_clauses})"
    if isinstance(action, SetField):
        field = fields.BY_NAME[action.field]
        return f"set_field:{format_value(field, action.value, action.mask)}->{field.set_field_name}"
    if isinstance(action, Move):
        src, dst = fields.BY_NAME[action.src], fields.BY_NAME[action.dst]
        src_range = _bit_range(src, action.src_start, action.src_start + action.n_bits - 1)
        dst_range = _bit_range(dst, action.dst_start, action.dst_start + action.n_bits - 1)
        return f"move:{src.nxm_name}{src_range}->{dst.nxm_name}{dst_range}"
    if isinstance(action, DecTtl):
        return "dec_ttl"
    if isinstance(action, Group):
        return f"group:{action.group_id}"
    if isinstance(action, Ct):
        return _render_ct(action)
    if isinstance(action, Learn):
        return _render_learn(action)
    if isinstance(action, Nat):
        return _render_nat(action)
    if isinstance(action, Drop):
        return "drop"
    raise TypeError(f"cannot render {type(action).__name__}")


def _render_ct(ct: Ct) -> str:
    parts = []
    if ct.commit:
        parts.append("commit")
    if ct.force:
        parts.append("force")
    if ct.table is not None:
        parts.append(f"table={ct.table}")
    if ct.zone:
        parts.append(f"zone={ct.zone}")
    if ct.nat is not None:
        parts.append(_render_nat(ct.nat))
    if ct.actions:
        parts.append("exec(" + ",".join(render_action(a) for a in ct.actions) + ")")
    return "ct(" + ",".join(parts) + ")"


def _render_nat(nat: Nat) -> str:
    if nat.kind is None:
        return "nat"
    text = _ipv4(nat.ip_min) + (f"-{_ipv4(nat.ip_max)}" if nat.ip_max is not None else "")
    if nat.port_min is not None:
        text += f":{nat.port_min}" + (f"-{nat.port_max}" if nat.port_max is not None else "")
    return f"nat({nat.kind}={text})"


def _subfield(name: str, start: int, n_bits: int) -> str:
    field = fields.BY_NAME[name]
    return field.nxm_name + _bit_range(field, start, start + n_bits - 1)


def _render_learn(learn: Learn) -> str:
    """As lib/learn.c `learn_format` prints it."""
    parts = [f"table={learn.table}"]
    if learn.idle_timeout:
        parts.append(f"idle_timeout={learn.idle_timeout}")
    if learn.hard_timeout:
        parts.append(f"hard_timeout={learn.hard_timeout}")
    if learn.priority != _DEFAULT_PRIORITY:
        parts.append(f"priority={learn.priority}")
    if learn.delete_learned:
        parts.append("delete_learned")
    if learn.cookie:
        parts.append(f"cookie={learn.cookie:#x}")
    for spec in learn.specs:
        dst = _subfield(spec.dst, spec.dst_start, spec.n_bits)
        if spec.kind == "match":
            if spec.value is not None:
                field = fields.BY_NAME[spec.dst]
                eth_type = field.fmt is Format.ETH_TYPE
                shown = _c_hex(spec.value) if eth_type else format_value(field, spec.value, None)
                parts.append(f"{_LEARN_IMMEDIATE_NAMES.get(field.name, field.name)}={shown}")
            elif (spec.src, spec.src_start) == (spec.dst, spec.dst_start):
                parts.append(dst)
            else:
                parts.append(f"{dst}={_subfield(spec.src, spec.src_start, spec.n_bits)}")
        else:
            if spec.value is not None:
                src = _c_hex(spec.value)
            else:
                src = _subfield(spec.src, spec.src_start, spec.n_bits)
            parts.append(f"load:{src}->{dst}")
    return "learn(" + ",".join(parts) + ")"


# Open vSwitch's own names for fields an immediate learn match sets (lib/meta-flow.xml).
_LEARN_IMMEDIATE_NAMES = {"dl_type": "eth_type", "nw_proto": "nw_proto"}


def render_actions(actions: tuple[Action, ...]) -> str:
    return ",".join(render_action(a) for a in actions) if actions else "drop"


def render_flow(flow: Flow) -> str:
    """The flow as the line `ovs-ofctl -O OpenFlow15 --no-stats dump-flows` prints (stripped)."""
    head = []
    if flow.cookie:
        head.append(f"cookie={flow.cookie:#x}, ")
    if flow.table:
        head.append(f"table={flow.table}, ")
    match = render_match(flow.match)
    spec = []
    if flow.priority != _DEFAULT_PRIORITY:
        spec.append(f"priority={flow.priority}")
    if match:
        spec.append(match)
    line = "".join(head) + ",".join(spec) + " actions=" + render_actions(flow.actions)
    return line.lstrip()


# -- parsing ------------------------------------------------------------------------------------


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ParseError(f"unbalanced ')' in {text!r}")
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if depth:
        raise ParseError(f"unbalanced '(' in {text!r}")
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def parse_match(text: str) -> Match:
    """`ip,nw_src=10.0.0.0/24,reg1=0x1e` (ovs-ofctl match syntax) to a Match."""
    return parse_flow_spec(text)[3]


def parse_flow_spec(text: str) -> tuple[int, int, int, Match]:
    """The part before `actions=`: (cookie, table, priority, match)."""
    cookie, table, priority = 0, 0, _DEFAULT_PRIORITY
    kwargs: dict[str, object] = {}
    for token in re.split(r"[,\s]+", text.strip()):
        if not token:
            continue
        key, eq, value = token.partition("=")
        if not eq:
            if key not in fields.PROTOCOLS:
                raise ParseError(f"unknown keyword {key!r}")
            kwargs[key] = True
        elif key == "cookie":
            cookie = int(value.partition("/")[0], 0)
        elif key == "table":
            table = int(value)
        elif key == "priority":
            priority = int(value)
        elif key in _STAT_KEYS:
            continue
        else:
            kwargs[key] = value
    try:
        return cookie, table, priority, Match.from_fields(kwargs)
    except MatchError as e:
        raise ParseError(f"{text!r}: {e}") from None


_FIELD_REF = re.compile(r"^(?P<name>[A-Za-z0-9_]+)\[(?P<range>[0-9.]*)\]$")


def _field_ref(text: str) -> tuple[str, int, int]:
    """`NXM_NX_REG0[0..15]` or `reg0[]` to (field name, start, end)."""
    m = _FIELD_REF.match(text)
    if m is None:
        raise ParseError(f"{text!r} is not a field reference like NXM_NX_REG0[0..15]")
    try:
        field = fields.lookup(m["name"])
    except KeyError as e:
        raise ParseError(str(e.args[0])) from None
    bits = m["range"]
    if not bits:
        return field.name, 0, field.nbits - 1
    start, _, end = bits.partition("..")
    return field.name, int(start), int(end or start)


def _parse_nat(text: str) -> Nat:
    if text == "nat":
        return Nat()
    if not (text.startswith("nat(") and text.endswith(")")):
        raise ParseError(f"unsupported nat {text!r}")
    kind, eq, spec = text[4:-1].partition("=")
    if not eq or kind not in ("src", "dst"):
        raise ParseError(f"nat needs src= or dst=, got {text!r}")
    ips, _, ports = spec.partition(":")
    ip_min, _, ip_max = ips.partition("-")
    port_min, _, port_max = ports.partition("-")
    return Nat(
        kind,
        ip_min,
        ip_max or None,
        int(port_min) if port_min else None,
        int(port_max) if port_max else None,
    )


def _parse_learn(inner: str) -> Learn:
    kwargs: dict[str, object] = {}
    specs: list[LearnSpec] = []
    for part in _split_top_level(inner):
        key, eq, value = part.partition("=")
        if part == "delete_learned":
            kwargs["delete_learned"] = True
        elif key in ("table", "priority", "idle_timeout", "hard_timeout") and eq:
            kwargs[key] = int(value, 0)
        elif key == "cookie" and eq:
            kwargs["cookie"] = int(value, 0)
        elif part.startswith("load:"):
            src_text, _, dst_text = part[5:].partition("->")
            dst, start, end = _field_ref(dst_text)
            if "[" in src_text:
                src, src_start, _ = _field_ref(src_text)
                specs.append(learn_load(dst, start, end, src=src, src_start=src_start))
            else:
                specs.append(learn_load(dst, start, end, value=int(src_text, 0)))
        elif eq and "[" not in key:
            specs.append(learn_match(fields.lookup(key).name, value=int(value, 0)))
        else:
            dst, start, end = _field_ref(key)
            if eq:
                src, src_start, _ = _field_ref(value)
                specs.append(learn_match(dst, start, end, src=src, src_start=src_start))
            else:
                specs.append(learn_match(dst, start, end))
    return Learn(specs=specs, **kwargs)  # type: ignore[arg-type]


def _parse_ct(inner: str) -> Ct:
    kwargs: dict[str, object] = {}
    for part in _split_top_level(inner):
        if part in ("commit", "force"):
            kwargs[part] = True
        elif part == "nat" or part.startswith("nat("):
            kwargs["nat"] = _parse_nat(part)
        elif part.startswith("table="):
            kwargs["table"] = int(part[6:])
        elif part.startswith("zone="):
            kwargs["zone"] = int(part[5:], 0)
        elif part.startswith("exec(") and part.endswith(")"):
            kwargs["actions"] = tuple(parse_action(a) for a in _split_top_level(part[5:-1]))
        else:
            raise ParseError(f"unsupported ct argument {part!r}")
    return Ct(**kwargs)


def parse_action(text: str) -> Action:
    """One action in ovs-ofctl syntax."""
    text = text.strip()
    upper = text.upper()
    try:
        if text == "drop":
            return Drop()
        if upper in ("IN_PORT", "NORMAL", "LOCAL") or upper.startswith("CONTROLLER"):
            return Output(upper.partition(":")[0])
        if text == "dec_ttl":
            return DecTtl()
        if text.startswith("output:"):
            target = text[7:]
            if "[" in target:
                name, start, end = _field_ref(target)
                return OutputReg(name, start, end)
            return Output(int(target) if target.isdigit() else target)
        if text.startswith("resubmit"):
            arg = text[len("resubmit") :]
            table = arg[2:-1] if arg.startswith("(,") else arg.lstrip(":")
            return Resubmit(int(table))
        if text.startswith("goto_table:"):
            return GotoTable(int(text[11:]))
        if text.startswith("conjunction(") and text.endswith(")"):
            conj_id, _, clause = text[12:-1].partition(",")
            k, _, n = clause.partition("/")
            return Conjunction(int(conj_id), int(k), int(n))
        if text.startswith("set_field:"):
            value, _, name = text[10:].rpartition("->")
            return SetField(name, value)
        if text.startswith("load:"):
            value, _, target = text[5:].partition("->")
            name, start, end = _field_ref(target)
            return load(name, int(value, 0), start, end)
        if text.startswith("move:"):
            src_text, _, dst_text = text[5:].partition("->")
            src, src_start, src_end = _field_ref(src_text)
            dst, dst_start, _ = _field_ref(dst_text)
            return Move(src, dst, src_start, dst_start, src_end - src_start + 1)
        if text.startswith(("mod_dl_src:", "mod_dl_dst:")):
            return SetField("dl_src" if text[7] == "s" else "dl_dst", text[11:])
        if text.startswith("group:"):
            return Group(int(text[6:]))
        if text.startswith("ct(") and text.endswith(")"):
            return _parse_ct(text[3:-1])
        if text.startswith("learn(") and text.endswith(")"):
            return _parse_learn(text[6:-1])
    except (ActionError, MatchError, ValueError, KeyError) as e:
        raise ParseError(f"action {text!r}: {e}") from None
    raise ParseError(f"unsupported action {text!r}")


def parse_flow(text: str) -> Flow:
    """A dump-flows line (statistics are ignored) or an ovs-ofctl add-flow spec, to a Flow."""
    spec, sep, actions_text = text.partition("actions=")
    if not sep:
        raise ParseError(f"no actions= in {text!r}")
    cookie, table, priority, match = parse_flow_spec(spec)
    actions = tuple(parse_action(a) for a in _split_top_level(actions_text))
    try:
        return Flow(table, priority, match, actions, cookie)
    except FlowError as e:
        raise ParseError(f"{text!r}: {e}") from None


def render_group(group: SwitchGroup) -> str:
    """The group as `ovs-ofctl -O OpenFlow15 dump-groups` prints it (stripped)."""
    parts = [f"group_id={group.group_id}", f"type={group.type}"]
    if group.selection_method is not None:
        parts.append(f"selection_method={group.selection_method}")
        if group.fields:
            parts.append("fields(" + ",".join(_SELECTION_FIELD_NAMES.get(f, f) for f in group.fields) + ")")
    for bucket in group.buckets:
        text = f"bucket=bucket_id:{bucket.bucket_id}"
        if group.type == "select" and bucket.weight != 1:  # Open vSwitch leaves out the default
            text += f",weight:{bucket.weight}"
        text += ",actions=" + render_actions(bucket.actions)
        parts.append(text)
    return ",".join(parts)


# Open vSwitch's names for the fields of a selection method (lib/meta-flow.xml).
_SELECTION_FIELD_NAMES = {"nw_src": "ip_src", "nw_dst": "ip_dst", "dl_src": "eth_src", "dl_dst": "eth_dst"}


def parse_group(text: str) -> SwitchGroup:
    """An `ovs-ofctl dump-groups` line (or add-group spec) to a Group."""
    head, _, rest = text.strip().partition(",bucket=")
    group_id, group_type = None, "all"
    method: str | None = None
    selection_fields: list[str] = []
    for part in _split_top_level(head):
        key, _, value = part.strip().partition("=")
        if key == "group_id":
            group_id = int(value, 0)
        elif key == "type":
            group_type = value
        elif key == "selection_method":
            method = value
        elif key.startswith("fields(") and key.endswith(")"):
            selection_fields = [f.strip() for f in key[7:-1].split(",") if f.strip()]
        elif key:
            raise ParseError(f"unsupported group argument {part!r}")
    if group_id is None:
        raise ParseError(f"no group_id= in {text!r}")
    buckets = []
    for bucket_text in rest.split(",bucket=") if rest else []:
        head_text, sep, actions_text = bucket_text.partition("actions=")
        if not sep:
            raise ParseError(f"bucket without actions= in {text!r}")
        kwargs: dict[str, int] = {"weight": 1} if group_type == "select" else {}
        for part in head_text.split(","):
            key, _, value = part.strip().partition(":")
            if key in ("bucket_id", "weight"):
                kwargs[key] = int(value, 0)
            elif key:
                raise ParseError(f"unsupported bucket argument {part!r}")
        actions = [parse_action(a) for a in _split_top_level(actions_text)]
        buckets.append(Bucket(actions, **kwargs))
    try:
        return SwitchGroup(group_id, buckets, group_type, method, selection_fields)
    except GroupError as e:
        raise ParseError(f"{text!r}: {e}") from None


def parse_dump(text: str) -> list[Flow]:
    """Every flow line of an `ovs-ofctl dump-flows` output (reply headers skipped)."""
    return [parse_flow(line) for line in text.splitlines() if "actions=" in line]


__all__ = [
    "ParseError",
    "format_value",
    "match_from_entries",
    "parse_action",
    "parse_dump",
    "parse_flow",
    "parse_group",
    "parse_match",
    "render_action",
    "render_flow",
    "render_group",
    "render_match",
]
