"""How users name the rules of an internal policy: by the Kubernetes rule they come from.

`translate` keeps a policy's ingress rules, then its egress rules, in spec order, and adds a
rule with an empty peer for a policyType that has no rules; so the i-th rule of a direction is
`spec.ingress[i]` (or `spec.egress[i]`), named `ingress[i]`, and the added one is named
`ingress (isolation only)`: it allows nothing and only isolates the pods it applies to.

A ClusterNetworkPolicy's rules are `ingress[i]` and `egress[i]` by their position in the spec,
followed by the rule's own name when it has one (`ingress[0]:deny-monitoring`); none of them
isolates.
"""

from __future__ import annotations

from pyantrea_api.objects import Direction, InternalNetworkPolicy, Rule, Tier

_PREFIX = {Direction.IN: "ingress", Direction.OUT: "egress"}


def isolation_only(rule: Rule) -> bool:
    """Whether the rule is the one `translate` adds for a policyType without rules."""
    return not rule.peer.address_groups and not rule.peer.ip_blocks and not rule.services


def rule_names(policy: InternalNetworkPolicy) -> tuple[str, ...]:
    """The name of each of the policy's rules, in its order."""
    if policy.tier is not Tier.NETWORK_POLICY:
        return tuple(
            f"{_PREFIX[rule.direction]}[{rule.index}]" + (f":{rule.name}" if rule.name else "")
            for rule in policy.rules
        )
    counts = dict.fromkeys(Direction, 0)
    names = []
    for rule in policy.rules:
        prefix = _PREFIX[rule.direction]
        if isolation_only(rule):
            names.append(f"{prefix} (isolation only)")
            continue
        names.append(f"{prefix}[{counts[rule.direction]}]")
        counts[rule.direction] += 1
    return tuple(names)


def _tiered_name(rule: Rule) -> str:
    position = f"{_PREFIX[rule.direction]}[{rule.index}]"
    return f"{position}:{rule.name}" if rule.name else position
