"""What this node tells the controller about the policies it enforces.

The policy realizer reports, per policy, the generation it installed or the error it met
(`report_realized`); the reporter keeps the latest of each and which ones changed since the last
report, and wakes the controller client's report loop (`wanted`). After every new watch the
client sends a full report (the controller may have restarted and lost the previous ones), then
only the changes. Policies that leave the node's state are forgotten.

The reporter is made before both the realizer and the controller client and given to each: the
realizer writes to it, the client reads from it. With `metrics`, the time from a policy's event
(`note_received`) to its realization on this node is observed
(`pyantrea_agent_policy_realization_seconds`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from prometheus_client import Histogram

from pyantrea_api.objects import InternalNetworkPolicy
from pyantrea_api.reports import Realization, StatusReport
from pyantrea_daemon.metrics import Metrics

_REALIZATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class RealizationMetrics:
    realization_seconds: Histogram
    """From a policy's event (or the state that carried it) to its flows installed here."""

    @classmethod
    def declare(cls, metrics: Metrics) -> RealizationMetrics:
        return cls(
            realization_seconds=metrics.histogram(
                "policy_realization_seconds",
                "Time from a NetworkPolicy's event from the controller to its flows installed on the node.",
                buckets=_REALIZATION_BUCKETS,
            )
        )


class RealizationReporter:
    """The latest realization of each policy on this node, and what changed."""

    def __init__(self, node: str, *, metrics: RealizationMetrics | None = None) -> None:
        self._node = node
        self._metrics = metrics
        self._current: dict[str, Realization] = {}
        self._changed: set[str] = set()
        self._forgotten: set[str] = set()
        self._full = True
        self._received: dict[str, tuple[int, float]] = {}
        """Per policy, the generation and time of its first event not realized yet."""
        self.wanted = asyncio.Event()
        """Set when a realization was reported: a report is worth sending."""

    def report_realized(self, policy_name: str, generation: int, error: str | None = None) -> None:
        """`generation` of the policy is installed (or failed: `error`)."""
        self.record(Realization(policy_name, generation, error))
        self.wanted.set()
        received = self._received.get(policy_name)
        if error is None and received is not None and generation >= received[0]:
            del self._received[policy_name]
            if self._metrics is not None:
                self._metrics.realization_seconds.observe(time.monotonic() - received[1])

    def note_received(self, policies: Iterable[InternalNetworkPolicy]) -> None:
        """Start the realization clock of policies whose generation is not realized yet; a
        policy changed again before it was realized keeps the time of its first change."""
        now = time.monotonic()
        received = self._received
        for policy in policies:
            realized = self.realized(policy.name)
            if realized is not None and realized.generation == policy.generation and realized.error is None:
                continue
            pending = received.get(policy.name)
            received[policy.name] = (policy.generation, now if pending is None else pending[1])

    def deleted(self, name: str) -> None:
        """The policy was deleted: forget it and stop its clock."""
        self.forget(name)
        self._received.pop(name, None)

    @property
    def pending(self) -> bool:
        """Whether a report would say anything new."""
        return self._full or bool(self._changed or self._forgotten)

    def realized(self, name: str) -> Realization | None:
        """The latest realization recorded for the policy."""
        return self._current.get(name)

    def record(self, realization: Realization) -> None:
        name = realization.policy_name
        if self._current.get(name) != realization:
            self._current[name] = realization
            self._changed.add(name)
            self._forgotten.discard(name)

    def forget(self, name: str) -> None:
        if self._current.pop(name, None) is not None:
            self._changed.discard(name)
            self._forgotten.add(name)

    def retain(self, names: Collection[str]) -> None:
        """Forget every policy not in `names`."""
        for name in [name for name in self._current if name not in names]:
            self.forget(name)

    def resend_all(self) -> None:
        """The next report is a full one (a new watch, or a report that was lost)."""
        self._full = True

    def take(self) -> StatusReport:
        """The report to send now: everything after `resend_all`, else the changes."""
        if self._full:
            realizations = tuple(self._current.values())
            report = StatusReport(self._node, True, realizations, ())
        else:
            realizations = tuple(self._current[name] for name in sorted(self._changed))
            report = StatusReport(self._node, False, realizations, tuple(sorted(self._forgotten)))
        self._full = False
        self._changed = set()
        self._forgotten = set()
        return report
