"""A policy's rules as the agent keeps them: each on its own, named by a hash of its content.

The id is the first 16 hex digits of the SHA-1 of a canonical encoding of the rule, its
policy's name and the policy's AppliedToGroups (Antrea's `hashRule`): reordering a policy's
rules changes no id, editing a rule makes a new rule, and a rule left as it was keeps its id
and its flows when the policy around it changes.
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


def rule_id(policy: InternalNetworkPolicy, rule: Rule) -> RuleId:
    return hashlib.sha1(_encode(policy, rule)).hexdigest()[:16]


def _encode(policy: InternalNetworkPolicy, rule: Rule) -> bytes:
    """Every field, NUL-separated (names cannot hold a NUL); addresses packed, blocks as
    address, prefix length, except count, excepts. A policy may carry thousands of ipBlocks,
    so this stays a few bytes of work per block. A tiered rule's tier, priority, action and
    position are part of it, and so are a peer's domain names when it has some (a NetworkPolicy
    rule's id is what it always was)."""
    fields = [policy.name]
    if policy.tier is not Tier.NETWORK_POLICY:
        fields.append(f"{policy.tier.value}/{policy.priority}/{rule.action.value}/{rule.index}")
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


def rules_of(policy: InternalNetworkPolicy) -> dict[RuleId, CachedRule]:
    """The policy's rules by id (two identical rules are one)."""
    applied_to = tuple(sorted(policy.applied_to_groups))
    rules = {}
    for rule in policy.rules:
        rid = rule_id(policy, rule)
        rules[rid] = CachedRule(
            rid, policy.name, rule.direction, rule.peer, rule.services, applied_to,
            policy.tier, policy.priority, rule.action, rule.index,
        )  # fmt: skip
    return rules
