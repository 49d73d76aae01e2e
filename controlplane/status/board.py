"""The realization status of every Kubernetes NetworkPolicy and ClusterNetworkPolicy, as users see it.

A ClusterNetworkPolicy is keyed ("", name): it has no namespace. The board joins what the
policy informers hold (each policy's UID and generation, or why
the computation cannot use it) with the tracker's progress of the internal policies:

* **Failed**: the computation cannot use the policy (its error is the message), or a node of
  its span reported an error installing its current generation;
* **Pending**: the computation has not published the current generation yet;
* **Realizing**: some nodes of its span have not reported the current generation installed;
* **Realized**: every node of its span has (also when the span is empty: it selects no pod).

It remembers which policies' status may have changed since `take_dirty`, for the writer.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from controlplane.compute.inputs import (
    ClusterNetworkPolicy,
    InvalidClusterNetworkPolicy,
    InvalidNetworkPolicy,
    NetworkPolicy,
)
from controlplane.status.realization import RealizationTracker
from controlplane.store.events import StoreEvent
from pyantrea_api.reports import StatusReport
from pyantrea_api.values import value

PolicyKey = tuple[str, str]
"""(namespace, name) of a Kubernetes NetworkPolicy; ("", name) of a ClusterNetworkPolicy."""

AnyPolicy = NetworkPolicy | InvalidNetworkPolicy | ClusterNetworkPolicy | InvalidClusterNetworkPolicy
_INVALID = (InvalidNetworkPolicy, InvalidClusterNetworkPolicy)

_MESSAGE_FAILURES = 3
"""Failed nodes named in a status message; the rest are counted."""


class PolicyPhase(enum.StrEnum):
    PENDING = "Pending"
    REALIZING = "Realizing"
    REALIZED = "Realized"
    FAILED = "Failed"


@value
class PolicyStatus:
    """A NetworkPolicy's realization, as written to its status and served by the JSON API."""

    namespace: str
    name: str
    uid: str
    observed_generation: int
    phase: PolicyPhase
    current_nodes_realized: int
    desired_nodes_realized: int
    message: str
    """Why it failed; empty otherwise."""
    unenforced: tuple[str, ...] = ()
    """The parts of a ClusterNetworkPolicy pyantrea does not enforce as written."""
    tier: str = ""
    """A ClusterNetworkPolicy's tier (Admin, Baseline); empty for a NetworkPolicy."""
    priority: int = 0

    @property
    def kind(self) -> str:
        return "ClusterNetworkPolicy" if not self.namespace else "NetworkPolicy"

    def fields(self) -> dict[str, Any]:
        """The status fields, named as Antrea names them on its own policies."""
        return {
            "observedGeneration": self.observed_generation,
            "phase": self.phase.value,
            "currentNodesRealized": self.current_nodes_realized,
            "desiredNodesRealized": self.desired_nodes_realized,
            "message": self.message,
        }


class StatusBoard:
    """Every NetworkPolicy's status, and which ones changed."""

    def __init__(self) -> None:
        self._tracker = RealizationTracker()
        self._policies: dict[PolicyKey, AnyPolicy] = {}
        self._unenforced: dict[PolicyKey, tuple[str, ...]] = {}
        self._keys: dict[str, PolicyKey] = {}
        """The key of each policy by UID (the internal policy's name)."""
        self._dirty: set[PolicyKey] = set()

    def set_policy(self, policy: AnyPolicy, *, unenforced: tuple[str, ...] = ()) -> None:
        """A policy was added or changed (as the informer holds it); `unenforced`: what of it
        the computation does not enforce as written."""
        key = (policy.namespace, policy.name)
        if unenforced:
            self._unenforced[key] = unenforced
        else:
            self._unenforced.pop(key, None)
        old = self._policies.get(key)
        if old is not None and old.uid != policy.uid:
            self._keys.pop(old.uid, None)
        self._policies[key] = policy
        self._keys[policy.uid] = key
        self._dirty.add(key)

    def remove_policy(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        old = self._policies.pop(key, None)
        self._unenforced.pop(key, None)
        if old is not None:
            self._keys.pop(old.uid, None)
            self._dirty.add(key)

    def on_events(self, events: Sequence[StoreEvent]) -> None:
        """Store listener: policies published, changed, moved or deleted."""
        self._mark(self._tracker.on_events(events))

    def report(self, report: StatusReport) -> None:
        """An agent's realization report."""
        self._mark(self._tracker.report(report))

    def status(self, key: PolicyKey) -> PolicyStatus | None:
        policy = self._policies.get(key)
        if policy is None:
            return None
        namespace, name = key
        unenforced = self._unenforced.get(key, ())
        tier, priority = "", 0
        if isinstance(policy, ClusterNetworkPolicy):
            tier, priority = policy.tier.value, policy.priority
        if isinstance(policy, _INVALID):
            return PolicyStatus(
                namespace, name, policy.uid, policy.generation, PolicyPhase.FAILED, 0, 0, policy.error
            )
        progress = self._tracker.progress(policy.uid)
        if progress is None or progress.generation != policy.generation:
            return PolicyStatus(
                namespace, name, policy.uid, policy.generation, PolicyPhase.PENDING, 0, 0, "",
                unenforced, tier, priority,
            )  # fmt: skip
        if progress.failures:
            phase = PolicyPhase.FAILED
            shown = [f"{node}: {error}" for node, error in progress.failures[:_MESSAGE_FAILURES]]
            rest = len(progress.failures) - len(shown)
            message = "; ".join(shown) + (f"; and {rest} more nodes" if rest else "")
        else:
            done = progress.realized == progress.desired
            phase = PolicyPhase.REALIZED if done else PolicyPhase.REALIZING
            message = ""
        return PolicyStatus(
            namespace,
            name,
            policy.uid,
            policy.generation,
            phase,
            progress.realized,
            progress.desired,
            message,
            unenforced,
            tier,
            priority,
        )

    def statuses(self) -> list[PolicyStatus]:
        """Every policy's status, by namespace and name."""
        return [status for key in sorted(self._policies) if (status := self.status(key)) is not None]

    def take_dirty(self) -> dict[PolicyKey, PolicyStatus | None]:
        """The policies whose status may have changed since the last call (None: deleted)."""
        dirty, self._dirty = self._dirty, set()
        return {key: self.status(key) for key in dirty}

    def _mark(self, names: set[str]) -> None:
        keys = self._keys
        self._dirty.update(key for name in names if (key := keys.get(name)) is not None)
