"""Per-rule traffic counters, from the counters of the rules' conjunction action flows.

Every conjunction has one action flow (cookie category POLICY_RULE, object id = its conj_id)
that a packet reaches once it matched every clause: its packet and byte counters count what
the rule allowed. Established and related packets skip the rule tables, so these are the
packets that opened (or, for connectionless traffic, had no reply yet on) the connections the
rule let through. A rule split by named-port resolution sums its conjunctions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from agent.openflow.cookies import object_id_of
from agent.policy.cache import RuleCache
from agent.policy.rules import RuleId
from controlplane.compute.inputs import Direction
from controlplane.compute.outputs import PolicyReference
from fastpath.decode import FlowStats


class ConjunctionOwners(Protocol):
    def rule_of(self, conj_id: int) -> RuleId | None: ...


@dataclass(frozen=True, slots=True)
class RuleStats:
    """One rule's counters."""

    policy: PolicyReference
    rule: RuleId
    direction: Direction
    conj_ids: tuple[int, ...]
    packets: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": {
                "namespace": self.policy.namespace,
                "name": self.policy.name,
                "uid": self.policy.uid,
            },
            "rule": self.rule,
            "direction": self.direction.value,
            "conjIds": list(self.conj_ids),
            "packets": self.packets,
            "bytes": self.bytes,
        }


def rule_stats(dumped: Iterable[FlowStats], cache: RuleCache, owners: ConjunctionOwners) -> list[RuleStats]:
    """Every rule of the cache with the counters of its conjunctions found in `dumped`."""
    counters: dict[RuleId, dict[int, tuple[int, int]]] = {}
    for stats in dumped:
        conj_id = object_id_of(stats.flow.cookie)
        rule_id = owners.rule_of(conj_id)
        if rule_id is not None:
            counters.setdefault(rule_id, {})[conj_id] = (stats.packets, stats.bytes)
    result = []
    for rule_id, rule in cache.rules().items():
        policy = cache.policy(rule.policy)
        if policy is None:
            continue
        found = counters.get(rule_id, {})
        result.append(
            RuleStats(
                policy.source_ref,
                rule_id,
                rule.direction,
                tuple(sorted(found)),
                sum(packets for packets, _ in found.values()),
                sum(byte_count for _, byte_count in found.values()),
            )
        )
    result.sort(key=lambda s: (s.policy.namespace, s.policy.name, s.direction.value, s.rule))
    return result
