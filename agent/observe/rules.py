"""The node's policy rules as users name them, for traces and for the heartbeat's rule traffic.

The policy realizer (`agent.policy`) knows each rule by a content hash and each conjunction by
its id; users know a rule as `namespace/name ingress[0]` (`pyantrea_api.rulenames`).
`RealizedRules` joins the two: the rule that owns a conjunction, the rules isolating a pod,
and each rule's traffic counters by its position in its policy.
"""

from __future__ import annotations

from typing import Protocol

from agent.policy.reconciler import Reconciler
from agent.policy.rules import CachedRule, RuleId, rule_ids
from agent.policy.stats import RuleStats
from agent.policy.store import PolicyStore
from pyantrea_api.objects import Direction, InternalNetworkPolicy
from pyantrea_api.reports import RuleTraffic
from pyantrea_api.rulenames import rule_names
from pyantrea_api.trace import RuleRef


def rule_index(policy: InternalNetworkPolicy, wanted: RuleId) -> int | None:
    """The position in the policy of the (first) rule with this id."""
    for index, rid in enumerate(rule_ids(policy)):
        if rid == wanted:
            return index
    return None


class RealizedPolicies(Protocol):
    """What the policy realizer tells of the rules: their store, what the reconciler made of
    them, and their counters."""

    @property
    def store(self) -> PolicyStore: ...

    @property
    def reconciler(self) -> Reconciler: ...

    async def rule_stats(self) -> list[RuleStats]: ...


class RealizedRules:
    """`explain.PolicyRules` over the realizer's policy store and reconciler."""

    def __init__(self, realizer: RealizedPolicies) -> None:
        self._realizer = realizer

    def allowing(self, conj_id: int) -> RuleRef | None:
        owner = self._realizer.reconciler.rule_of(conj_id)
        rule = self._realizer.store.rule(owner) if owner is not None else None
        return None if rule is None else self._ref(rule)

    def isolating(self, direction: Direction, pod: int) -> tuple[RuleRef, ...]:
        reconciler = self._realizer.reconciler
        refs = []
        for rid, rule in self._realizer.store.rules().items():
            if rule.direction is not direction:
                continue
            realized = reconciler.realized(rid)
            if realized is not None and pod in realized.isolated and (ref := self._ref(rule)) is not None:
                refs.append(ref)
        return tuple(sorted(set(refs), key=lambda r: (r.namespace, r.name, r.rule)))

    async def traffic(self) -> tuple[RuleTraffic, ...]:
        """Every rule's counters, by its policy's name and its position in it."""
        store = self._realizer.store
        result = []
        for stats in await self._realizer.rule_stats():
            policy = store.policy(stats.policy.uid)
            index = rule_index(policy, stats.rule) if policy is not None else None
            if index is not None:
                result.append(RuleTraffic(stats.policy.uid, index, stats.packets, stats.bytes))
        return tuple(result)

    def _ref(self, rule: CachedRule) -> RuleRef | None:
        policy = self._realizer.store.policy(rule.policy)
        if policy is None:
            return None
        index = rule_index(policy, rule.id)
        if index is None:
            return None
        source = policy.source_ref
        name = rule_names(policy)[index]
        if rule.tiered:
            return RuleRef(source.namespace, source.name, name, rule.tier.value, rule.action.value)
        return RuleRef(source.namespace, source.name, name)
