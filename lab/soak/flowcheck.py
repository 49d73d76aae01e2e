"""Flow dumps made comparable across agent runs, and their difference.

A freshly started agent installs the same flows as one that lived through the churn, except for
what says nothing about the datapath: counters and ages, the cookie (whose round changes with
every start) and the conjunction ids (allocated in the order rules arrived). `canonical` drops the
first two and renames the ids (in `conjunction()`, `conj_id=`, the rule registers and ct_label):
each id gets a signature (every flow that mentions it, with that id written `@` and the others by
their rank in the previous refinement), and ids are numbered in the order of their signatures, so
two dumps that differ only in the numbering of their conjunctions come out equal. (Ids whose
signatures stay equal are interchangeable: either numbering gives the same flows.)
"""

from __future__ import annotations

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


def canonical(lines: Iterable[str]) -> Counter[str]:
    """The flows as a multiset of lines, comparable between agent runs."""
    flows = [strip_stats(line) for line in lines if line.strip()]
    flows = [flow for flow in flows if flow and "_FLOW reply" not in flow]
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
    return Counter(_rename(flow, names) for flow in flows)


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
