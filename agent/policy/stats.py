"""Per-rule traffic counters, from the counters of the rules' metric flows.

Every conjunction has three metric flows (cookie category POLICY_METRIC, object id = its
conj_id): one counts the packets that open connections the conjunction allowed, the others
every later packet of those connections, in the original direction and the replies (the commit
keeps the conj_id in the connection's ct_label; see `agent.openflow.builders.metrics`). Their
sum is what the rule allowed. A rule split by named-port resolution sums its conjunctions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from agent.openflow.cookies import object_id_of
from agent.policy.rules import RuleId
from agent.policy.store import PolicyStore
from fastpath.decode import FlowStats
from pyantrea_api.objects import Direction, PolicyReference


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


def rule_stats(dumped: Iterable[FlowStats], store: PolicyStore, owners: ConjunctionOwners) -> list[RuleStats]:
    """Every rule of the store with the counters of its conjunctions' metric flows found in
    `dumped`."""
    counters: dict[RuleId, dict[int, tuple[int, int]]] = {}
    for stats in dumped:
        conj_id = object_id_of(stats.flow.cookie)
        rule_id = owners.rule_of(conj_id)
        if rule_id is not None:
            found = counters.setdefault(rule_id, {})
            packets, byte_count = found.get(conj_id, (0, 0))
            found[conj_id] = (packets + stats.packets, byte_count + stats.bytes)
    result = []
    for rule_id, rule in store.rules().items():
        policy = store.policy(rule.policy)
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
