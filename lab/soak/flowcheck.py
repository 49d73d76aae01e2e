"""Flow and group dumps made comparable across agent runs, and their difference.

A freshly started agent installs the same flows as one that lived through the churn, except for
what says nothing about the datapath: counters and ages, the cookie (whose round changes with
every start) and the conjunction ids (allocated in the order rules arrived). `canonical` drops the
first two and renames the ids (in `conjunction()`, `conj_id=`, the rule registers and ct_label):
each id gets a signature (every flow that mentions it, with that id written `@` and the others by
their rank in the previous refinement), and ids are numbered in the order of their signatures, so
two dumps that differ only in the numbering of their conjunctions come out equal. (Ids whose
signatures stay equal are interchangeable: either numbering gives the same flows.)

OVS groups (`dump-groups`: one select group per Service port) are matched the same way: a group
id (allocated in the order Service ports arrived) shows in the group itself (`group_id=`), in the
ServiceLB flow that selects it (`group:`) and in the register that carries it on (`reg7`), and is
renamed by its signature (the group's buckets, in sorted order without their bucket ids,
and every flow that mentions the id), `G` and 8 hex digits of its digest, so that a group more or
less renames no other; the groups join the flows as lines `group_id=G<digest>,...`.
`group_leaks` names the groups no flow selects and the flows that select a group that is not there.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_STATS = re.compile(
    r"\b(cookie=0x[0-9a-f]+|duration=[0-9.]+s|n_packets=\d+|n_bytes=\d+|idle_age=\d+|hard_age=\d+)(, |,)"
)
# Everywhere a conjunction id shows in a flow: the clause action, the action flow's match, the
# rule registers that carry it to the metric tables (reg5 egress, reg6 ingress) and the halves
# of ct_label committed with the connection (ingress low 32 bits, egress high 32 bits).
_CONJ = re.compile(
    r"(?P<clause>conjunction\()(?P<c>\d+)"
    r"|(?P<match>conj_id=)(?P<m>\d+)"
    r"|(?P<load>set_field:0x)(?P<l>[0-9a-f]+)(?P<lreg>->reg[56])"
    r"|(?P<reg>reg[56]=0x)(?P<r>[0-9a-f]+)"
    r"|(?P<low>ct_label=0x)(?P<lo>[0-9a-f]+)(?P<lomask>/0xffffffff)(?![0-9a-f])"
    r"|(?P<high>ct_label=0x)(?P<hi>[0-9a-f]+)(?P<himask>/0xffffffff00000000)"
)


# Everywhere a group id shows: the group, the flow that selects it, the register that carries it.
_GROUP = re.compile(
    r"(?P<gid>group_id=)(?P<g>\d+)"
    r"|(?P<gact>\bgroup:)(?P<a>\d+)"
    r"|(?P<gload>set_field:0x)(?P<gl>[0-9a-f]+)(?P<greg>->reg7)(?![0-9])"
    r"|(?P<gmatch>\breg7=0x)(?P<gm>[0-9a-f]+)(?![0-9a-f/])"
)
_BUCKET = re.compile(r",bucket=bucket_id:\d+,")


def _group_of(match: re.Match[str]) -> int:
    if match.group("g") is not None:
        return int(match.group("g"))
    if match.group("a") is not None:
        return int(match.group("a"))
    if match.group("gl") is not None:
        return int(match.group("gl"), 16)
    return int(match.group("gm"), 16)


def _with_group_name(match: re.Match[str], name: str) -> str:
    if match.group("gid"):
        return f"group_id={name}"
    if match.group("gact"):
        return f"group:{name}"
    if match.group("gload"):
        return f"set_field:{name}->reg7"
    return f"reg7={name}"


def _group_line(line: str) -> str:
    """One dump-groups line with its buckets in sorted order and without their bucket ids (the
    order the endpoints came in says nothing: a select group hashes over all of them)."""
    head, *buckets = _BUCKET.split(line.strip())
    return ",bucket=".join([head, *sorted(buckets)])


def _rename_groups(line: str, names: dict[int, str]) -> str:
    return _GROUP.sub(lambda match: _with_group_name(match, names.get(_group_of(match), "*")), line)


def _canonical_groups(flows: list[str], groups: list[str]) -> tuple[list[str], list[str]]:
    """`flows` and `groups` with every group id renamed by its signature."""
    lines = flows + groups
    ids = sorted({_group_of(match) for line in lines for match in _GROUP.finditer(line)})
    mentioning: dict[int, list[str]] = {gid: [] for gid in ids}
    for line in lines:
        for gid in {_group_of(match) for match in _GROUP.finditer(line)}:
            # the conjunction ids in such a line are numbered on their own, later: not part of it
            mentioning[gid].append(_CONJ.sub("#", line))
    signatures = {
        gid: tuple(sorted(_rename_groups(line, {gid: "@"}) for line in mentioning[gid])) for gid in ids
    }
    # Named by a digest of the signature, not by rank: a group more or less renames no other.
    names = {gid: "G" + hashlib.sha256(repr(signatures[gid]).encode()).hexdigest()[:8] for gid in ids}
    return [_rename_groups(line, names) for line in flows], [_rename_groups(line, names) for line in groups]


def _id_of(match: re.Match[str]) -> int:
    if match.group("c") is not None:
        return int(match.group("c"))
    if match.group("m") is not None:
        return int(match.group("m"))
    if match.group("l") is not None:
        return int(match.group("l"), 16)
    if match.group("r") is not None:
        return int(match.group("r"), 16)
    if match.group("lo") is not None:
        return int(match.group("lo"), 16)
    return int(match.group("hi"), 16) >> 32


def _with_name(match: re.Match[str], name: str) -> str:
    if match.group("clause"):
        return f"conjunction({name}"
    if match.group("match"):
        return f"conj_id={name}"
    if match.group("load"):
        return f"set_field:{name}{match.group('lreg')}"
    if match.group("reg"):
        return f"{match.group('reg')[:-2]}{name}"
    if match.group("low"):
        return f"ct_label={name}{match.group('lomask')}"
    return f"ct_label={name}<<32{match.group('himask')}"


def strip_stats(line: str) -> str:
    """One dump-flows line without cookie, counters and ages."""
    return _STATS.sub("", line).strip()


def conj_ids(lines: Iterable[str]) -> set[int]:
    return {_id_of(match) for line in lines for match in _CONJ.finditer(line)}


def canonical(lines: Iterable[str], group_lines: Iterable[str] = ()) -> Counter[str]:
    """The flows (and the groups) as a multiset of lines, comparable between agent runs."""
    flows = [strip_stats(line) for line in lines if line.strip()]
    flows = [flow for flow in flows if flow and "_FLOW reply" not in flow]
    groups = [_group_line(line) for line in group_lines if line.strip().startswith("group_id=")]
    flows, groups = _canonical_groups(flows, groups)
    ids = sorted(conj_ids(flows))
    mentioning = {conj: [flow for flow in flows if conj in _ids_in(flow)] for conj in ids}
    # Refined a few times, as colour refinement does: an id's signature names the others by
    # their rank in the previous round, so ids that share flows with different ids separate.
    rank: dict[int, str] = dict.fromkeys(ids, "*")
    for _ in range(3):
        signatures = {
            conj: tuple(sorted(_rename(flow, {**rank, conj: "@"}) for flow in mentioning[conj]))
            for conj in ids
        }
        order = sorted(ids, key=lambda conj: signatures[conj])
        ranks: dict[tuple[str, ...], int] = {}
        for conj in order:
            ranks.setdefault(signatures[conj], len(ranks) + 1)
        rank = {conj: f"R{ranks[signatures[conj]]}" for conj in ids}
    names = {
        conj: f"C{index}" for index, conj in enumerate(sorted(ids, key=lambda c: (rank[c], signatures[c])), 1)
    }
    return Counter([*(_rename(flow, names) for flow in flows), *groups])


def _ids_in(flow: str) -> set[int]:
    return {_id_of(match) for match in _CONJ.finditer(flow)}


def _rename(flow: str, names: dict[int, str]) -> str:
    renamed = _CONJ.sub(lambda match: _with_name(match, names.get(_id_of(match), "*")), flow)
    return _sorted_conjunctions(renamed)


def _sorted_conjunctions(flow: str) -> str:
    """A flow whose actions are all `conjunction()`s with them in sorted order: OVS keeps the order
    they were added in, which says nothing (a packet matching the flow joins every one)."""
    head, separator, actions = flow.rpartition(" actions=")
    parts = actions.split("),")
    if not separator or not all(part.startswith("conjunction(") for part in parts):
        return flow
    items = sorted(part if part.endswith(")") else part + ")" for part in parts)
    return f"{head}{separator}{','.join(items)}"


@dataclass(frozen=True, slots=True)
class FlowDifference:
    missing: tuple[str, ...]
    """Flows a fresh agent installs that the churned agent did not have."""
    stale: tuple[str, ...]
    """Flows the churned agent had that a fresh agent does not install."""

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale)


def difference(churned: Counter[str], fresh: Counter[str]) -> FlowDifference:
    return FlowDifference(
        missing=tuple(sorted((fresh - churned).elements())),
        stale=tuple(sorted((churned - fresh).elements())),
    )


def conjunction_leaks(lines: Iterable[str]) -> list[int]:
    """Conjunction ids with clause flows (`conjunction(id,k/n)`) but no action flow (`conj_id=id`)
    or an action flow but no clauses: half a rule left behind."""
    clauses: set[int] = set()
    actions: set[int] = set()
    for line in lines:
        for match in _CONJ.finditer(line):
            if match.group("c") is not None:
                clauses.add(int(match.group("c")))
            elif match.group("m") is not None:
                actions.add(int(match.group("m")))
    return sorted(clauses ^ actions)


def group_leaks(flow_lines: Iterable[str], group_lines: Iterable[str]) -> list[str]:
    """Groups no flow selects (`group:N`) and flows that select a group the switch does not hold."""
    selected: set[int] = set()
    for line in flow_lines:
        selected |= {int(m.group("a")) for m in _GROUP.finditer(line) if m.group("a") is not None}
    held = {
        int(m.group("g")) for line in group_lines for m in _GROUP.finditer(line) if m.group("g") is not None
    }
    return [f"group id {gid} is selected by no flow" for gid in sorted(held - selected)] + [
        f"a flow selects group id {gid}, which is not there" for gid in sorted(selected - held)
    ]
