"""A policy's rules as the agent keeps them: each on its own, named by a hash of its content.

The id is the first 16 hex digits of the SHA-1 of a canonical encoding of the rule, its
policy's name and the policy's AppliedToGroups (Antrea's `hashRule`): reordering a policy's
rules changes no id, editing a rule makes a new rule, and a rule left as it was keeps its id
and its flows when the policy around it changes.

A ClusterNetworkPolicy rule also gets a `level`: how many of its policy's earlier rules of the
same direction it must come after, as a chain. The API orders a policy's rules by position, but
order matters only between rules that can match the same packet; two rules whose ports cannot
meet (`services_overlap`) may sit at the same flow priority, and then share their clause flows
(a conjunction's flows all have its priority, so each priority has its own copy of a peer's
flow). A rule's level is one more than the highest level of the earlier rules it overlaps, 0
when there are none: policies whose rules name distinct ports need one flow priority, not one
per rule. Peers are not compared (a rule's peers change with its groups; its ports do not).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pyantrea_api.objects import Direction, InternalNetworkPolicy, Peer, Rule, RuleAction, Service, Tier

RuleId = str


@dataclass(frozen=True, slots=True)
class CachedRule:
    """One rule of one policy, with what it applies to."""

    id: RuleId
    policy: str
    """The internal policy's name (the Kubernetes policy's UID)."""
    direction: Direction
    peer: Peer
    services: tuple[Service, ...]
    applied_to_groups: tuple[str, ...]
    tier: Tier = Tier.NETWORK_POLICY
    priority: int = 0
    """The policy's priority in its tier (ClusterNetworkPolicy)."""
    action: RuleAction = RuleAction.ACCEPT
    position: int = 0
    """The rule's position among its policy's rules of its direction (ClusterNetworkPolicy)."""
    level: int = 0
    """Where it sits among its policy's rules for the flow priority (ClusterNetworkPolicy):
    after every earlier rule it overlaps, at most `position`."""

    @property
    def tiered(self) -> bool:
        """A ClusterNetworkPolicy rule (Admin or Baseline): no isolation, its own table and priority."""
        return self.tier is not Tier.NETWORK_POLICY

    @property
    def intercepts_dns(self) -> bool:
        """An egress rule with domain-name peers: its pods' DNS answers teach it its peers."""
        return bool(self.peer.fqdns) and self.direction is Direction.OUT

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group the rule needs before it can be realized."""
        return self.peer.address_groups + self.applied_to_groups


def services_overlap(a: tuple[Service, ...], b: tuple[Service, ...]) -> bool:
    """Whether some packet can match both port lists (no services: every port). A named port
    resolves per pod, so it is taken to overlap every port of its protocol."""
    if not a or not b:
        return True
    for x in a:
        for y in b:
            if x.protocol is not y.protocol:
                continue
            if x.port is None or y.port is None or isinstance(x.port, str) or isinstance(y.port, str):
                return True
            if x.port <= (y.end_port or y.port) and y.port <= (x.end_port or x.port):
                return True
    return False


def levels(rules: list[Rule]) -> list[int]:
    """The level of each of one direction's rules, given in position order."""
    found: list[int] = []
    for i, rule in enumerate(rules):
        earlier = [found[j] for j in range(i) if services_overlap(rules[j].services, rule.services)]
        found.append(1 + max(earlier) if earlier else 0)
    return found


def rule_id(policy: InternalNetworkPolicy, rule: Rule, level: int = 0) -> RuleId:
    return hashlib.sha1(_encode(policy, rule, level)).hexdigest()[:16]


def _encode(policy: InternalNetworkPolicy, rule: Rule, level: int = 0) -> bytes:
    """Every field, NUL-separated (names cannot hold a NUL); addresses packed, blocks as
    address, prefix length, except count, excepts. A policy may carry thousands of ipBlocks,
    so this stays a few bytes of work per block. A tiered rule's tier, priority, action and
    position and level are part of it, and so are a peer's domain names when it has some (a NetworkPolicy
    rule's id is what it always was)."""
    fields = [policy.name]
    if policy.tier is not Tier.NETWORK_POLICY:
        text = f"{policy.tier.value}/{policy.priority}/{rule.action.value}/{rule.index}"
        fields.append(text if level == rule.index else f"{text}/{level}")  # ids from before levels stay
    text = "\0".join(
        [
            *fields,
            ",".join(sorted(policy.applied_to_groups)),
            rule.direction.value,
            ",".join(rule.peer.address_groups),
            ",".join(f"{s.protocol.value}/{s.port!r}/{s.end_port!r}" for s in rule.services),
        ]
    )
    if rule.peer.fqdns:
        text += "\0fqdn:" + ",".join(rule.peer.fqdns)
    parts = [text.encode(), b"\0"]
    for block in rule.peer.ip_blocks:
        parts += [block.cidr.ip, bytes((block.cidr.prefix_len, len(block.excepts)))]
        for excluded in block.excepts:
            parts += [excluded.ip, bytes((excluded.prefix_len,))]
    return b"".join(parts)


def rule_ids(policy: InternalNetworkPolicy) -> list[RuleId]:
    """The id of each of the policy's rules, in the policy's order."""
    return [
        rule_id(policy, rule, level) for rule, level in zip(policy.rules, _levels_of(policy), strict=True)
    ]


def _levels_of(policy: InternalNetworkPolicy) -> list[int]:
    """The level of each of the policy's rules, in the policy's order (0 for NetworkPolicy)."""
    found = [0] * len(policy.rules)
    if policy.tier is not Tier.NETWORK_POLICY:
        for direction in Direction:
            ordered = sorted(
                (i for i, r in enumerate(policy.rules) if r.direction is direction),
                key=lambda i: policy.rules[i].index,
            )
            for i, level in zip(ordered, levels([policy.rules[i] for i in ordered]), strict=True):
                found[i] = level
    return found


def rules_of(policy: InternalNetworkPolicy) -> dict[RuleId, CachedRule]:
    """The policy's rules by id (two identical rules are one)."""
    applied_to = tuple(sorted(policy.applied_to_groups))
    rules = {}
    for rule, level in zip(policy.rules, _levels_of(policy), strict=True):
        rid = rule_id(policy, rule, level)
        rules[rid] = CachedRule(
            rid, policy.name, rule.direction, rule.peer, rule.services, applied_to,
            policy.tier, policy.priority, rule.action, rule.index, level,
        )  # fmt: skip
    return rules
