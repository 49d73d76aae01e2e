"""`Dirty`: what changed for the rules, in the terms the reconciler recomputes them.

The policy store makes one for each change of its state (what that change means for its rules),
and the rule cache gathers them, with the rules its local pods touch, until the reconciler takes
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.policy.addresses import PeerAddress
from agent.policy.rules import RuleId


@dataclass(slots=True)
class Dirty:
    """Rules to recompute, peer addresses to check, and the policies to report."""

    rules: set[RuleId] = field(default_factory=set)
    """Rules to recompute whole: added, removed, edited (a new id), of a policy whose groups
    arrived, changed or went, or applied to a local pod that was attached or detached."""
    addresses: dict[RuleId, set[PeerAddress]] = field(default_factory=dict)
    """For a rule whose AddressGroup got a patch, the peer addresses that patch may have added
    or removed (the reconciler checks just those, not the group's every member)."""
    policies: set[str] = field(default_factory=set)
    """Policies set (arrived or changed) whose realization to report once installed."""
    deleted: set[str] = field(default_factory=set)
    """Policies gone (their rules are in `rules`)."""

    def __bool__(self) -> bool:
        return bool(self.rules or self.addresses or self.policies or self.deleted)

    def policy_set(self, name: str) -> None:
        self.policies.add(name)
        self.deleted.discard(name)

    def policy_deleted(self, name: str) -> None:
        self.policies.discard(name)
        self.deleted.add(name)

    def merge(self, later: Dirty) -> None:
        """Add what changed after (a policy set then deleted, or the reverse, ends as the later says)."""
        self.rules |= later.rules
        addresses = self.addresses
        for rule_id, changed in later.addresses.items():
            addresses.setdefault(rule_id, set()).update(changed)
        self.policies -= later.deleted
        self.policies |= later.policies
        self.deleted -= later.policies
        self.deleted |= later.deleted
