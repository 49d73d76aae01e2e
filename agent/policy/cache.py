"""The rule cache: the policy store's rules as the reconciler works through them, and the local pods.

It is a reader of the policy store (`agent.policy.store`), which owns the policies, their rules,
the groups and every index between them: the cache listens to it and gathers what each replace
and change of the store makes dirty (`agent.policy.dirty.Dirty`: rules to recompute, peer
addresses to check, policies to report), adding the rules a local pod's attachment or detachment
touches, until the reconciler takes it (`take_dirty`).

A rule with domain-name peers (`peer.fqdns`, the store keeps which rules have some) also holds
the addresses a `DomainAddresses` source (`agent.fqdn`) has learned for them;
`domain_names_changed` marks the rules whose names it concerns dirty. Local pods (the attached
pod interfaces: OpenFlow port and address) come from the pod datapath; an AppliedToGroup member
that is not attached yet has no flows until it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agent.policy.addresses import PeerAddress
from agent.policy.dirty import Dirty
from agent.policy.rules import CachedRule
from agent.policy.store import Change, PolicySnapshot, PolicyStore, StateSource
from pyantrea_api.domainnames import matches
from pyantrea_api.objects import GroupMember, PodKey


class DomainAddresses(Protocol):
    """What the agent has learned of domain names from DNS answers (`agent.fqdn.cache`)."""

    def addresses(self, patterns: Iterable[str]) -> set[PeerAddress]:
        """The /32 peer addresses of every unexpired name that one of `patterns` matches."""
        ...


@dataclass(frozen=True, slots=True)
class LocalPod:
    """A pod attached on this node: its container, OpenFlow port and IPv4 address."""

    container_id: str
    ofport: int
    ip: int


class RuleCache:
    """What is dirty in `store` (whose listener it becomes) and the local pods; `take_dirty()`
    hands over what changed.

    `on_change` is called (on the event loop) whenever something became dirty.
    """

    def __init__(self, store: PolicyStore, on_change: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self._on_change = on_change
        self._local: dict[PodKey, LocalPod] = {}
        self._domains: DomainAddresses | None = None
        self._dirty = Dirty(rules=set(store.rules()), policies=set(store.policies))
        self.version = 0
        """Counts the changes: a change with version v is realized once a batch taken at v or later is."""
        store.add_listener(self)

    # -- PolicyListener --------------------------------------------------------------------------

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource, dirty: Dirty) -> None:
        """Everything anew: every old and new rule is recomputed (unchanged ones change no flow)."""
        self._dirty.merge(dirty)
        self._changed()

    def on_changes(self, changes: Sequence[Change], dirty: Dirty) -> None:
        self._dirty.merge(dirty)
        self._changed()

    # -- local pods ------------------------------------------------------------------------------

    def set_local_pod(self, key: PodKey, pod: LocalPod) -> None:
        """A pod was attached on this node (or attached anew)."""
        if self._local.get(key) == pod:
            return
        self._local[key] = pod
        self._pod_changed(key)

    def remove_local_pod(self, key: PodKey, container_id: str) -> None:
        """A pod's container was detached (a newer container of the pod stays)."""
        pod = self._local.get(key)
        if pod is not None and pod.container_id == container_id:
            del self._local[key]
            self._pod_changed(key)

    # -- domain names ----------------------------------------------------------------------------

    def set_domain_addresses(self, source: DomainAddresses) -> None:
        """Where the addresses of domain-name peers come from; their rules are recomputed."""
        self._domains = source
        fqdn_rules = self.store.fqdn_rules()
        if fqdn_rules:
            self._dirty.rules.update(fqdn_rules)
            self._changed()

    def domain_names_changed(self, names: Iterable[str]) -> bool:
        """The addresses of these (normalized) names changed: every rule with a pattern matching
        one of them is recomputed. Returns whether some rule was."""
        names = set(names)
        store = self.store
        touched = set()
        for rule_id in store.fqdn_rules():
            rule = store.rule(rule_id)
            if rule is not None and any(matches(p, name) for p in rule.peer.fqdns for name in names):
                touched.add(rule_id)
        if touched:
            self._dirty.rules.update(touched)
            self._changed()
        return bool(touched)

    def domain_addresses_of(self, rule: CachedRule) -> frozenset[PeerAddress]:
        if not rule.peer.fqdns or self._domains is None:
            return frozenset()
        return frozenset(self._domains.addresses(rule.peer.fqdns))

    def dns_pods(self) -> dict[int, int]:
        """Local pods whose DNS answers the agent intercepts: IPv4 address (int) to OpenFlow port."""
        pods: dict[int, int] = {}
        store = self.store
        for rule_id in store.fqdn_rules():
            rule = store.rule(rule_id)
            if rule is not None and rule.intercepts_dns and store.realizable(rule):
                pods.update((pod.ip, pod.ofport) for _, pod in self.local_pods_of(rule))
        return pods

    # -- what the reconciler reads ---------------------------------------------------------------

    def take_dirty(self) -> Dirty:
        dirty, self._dirty = self._dirty, Dirty()
        return dirty

    def local_pods_of(self, rule: CachedRule) -> list[tuple[GroupMember, LocalPod]]:
        """The rule's AppliedToGroup members attached on this node, each once (the rule must be
        realizable)."""
        local = self._local
        found: dict[PodKey, tuple[GroupMember, LocalPod]] = {}
        for name in rule.applied_to_groups:
            for key, member in self.store.applied_to_members(name).items():
                pod = local.get(key)
                if pod is not None:
                    found[key] = (member, pod)
        return list(found.values())

    # -- internals -------------------------------------------------------------------------------

    def _changed(self) -> None:
        self.version += 1
        self._on_change()

    def _pod_changed(self, key: PodKey) -> None:
        self._dirty.rules.update(self.store.rules_applied_to(key))
        self._changed()
