"""How far each internal policy is realized: nodes of its span at its current generation.

The tracker follows the store's policy events (generation and span of every policy) and the
agents' reports (per node, the generation each policy is installed at, or the error). It keeps,
per policy, the count of span nodes that installed the current generation and the failures of
span nodes at that generation, adjusting them per report and per span change, so a report
costs O(its size) and a span move O(nodes that moved), never O(policies x nodes).

Reports name policies by the internal name (the Kubernetes UID); a report of a policy the store
does not hold (deleted meanwhile) is dropped. Reports stay when an agent disconnects (its flows
stay installed) and are replaced by the full report an agent sends after each new watch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from controlplane.compute.changes import EMPTY_SPAN, Span
from controlplane.store.events import PolicyEvent, StoreEvent
from pyantrea_api.reports import StatusReport
from pyantrea_api.values import value

_Report = tuple[int, str | None]
"""A node's report of one policy: the generation, and the error (None: installed)."""


@value
class PolicyProgress:
    """One policy's realization: span nodes at `generation`, and the span nodes that failed."""

    generation: int
    desired: int
    realized: int
    failures: tuple[tuple[str, str], ...]
    """(node, error) of span nodes that failed to install `generation`, by node."""


class _Entry:
    __slots__ = ("failures", "generation", "name", "realized", "span")

    def __init__(self, name: str, generation: int) -> None:
        self.name = name
        self.generation = generation
        self.span: Span = EMPTY_SPAN
        self.realized = 0
        self.failures: dict[str, str] = {}

    def count(self, node: str, report: _Report | None, sign: int) -> None:
        """Add (sign 1) or remove (sign -1) one span node's report from the counts."""
        if report is None or report[0] != self.generation:
            return
        error = report[1]
        if error is None:
            self.realized += sign
        elif sign > 0:
            self.failures[node] = error
        else:
            self.failures.pop(node, None)


class RealizationTracker:
    """Per policy, the span nodes that installed its current generation."""

    def __init__(self) -> None:
        self._policies: dict[str, _Entry] = {}
        self._reports: dict[str, dict[str, _Report]] = {}
        """node -> policy name -> the node's report."""

    def progress(self, name: str) -> PolicyProgress | None:
        """The realization of the policy the store holds as `name`, or None."""
        entry = self._policies.get(name)
        if entry is None:
            return None
        return PolicyProgress(
            entry.generation, len(entry.span), entry.realized, tuple(sorted(entry.failures.items()))
        )

    def on_events(self, events: Sequence[StoreEvent]) -> set[str]:
        """Follow the store's policy events; returns the policies whose progress may have changed."""
        changed = set()
        for event in events:
            if isinstance(event, PolicyEvent):
                self._on_policy(event)
                changed.add(event.name)
        return changed

    def report(self, report: StatusReport) -> set[str]:
        """Take a node's report; returns the policies whose progress may have changed."""
        node = report.node_name
        reports = self._reports.setdefault(node, {})
        changed = set()
        if report.full:
            for name in list(reports):
                self._set(node, reports, name, None)
                changed.add(name)
        for name in report.forgotten:
            if name in reports:
                self._set(node, reports, name, None)
                changed.add(name)
        for realization in report.realizations:
            entry = self._policies.get(realization.policy_name)
            if entry is not None:
                self._set(node, reports, entry.name, (realization.generation, realization.error))
                changed.add(entry.name)
        if not reports:
            del self._reports[node]
        return changed

    def _set(self, node: str, reports: dict[str, _Report], name: str, report: _Report | None) -> None:
        entry = self._policies.get(name)
        if entry is not None and node in entry.span:
            entry.count(node, reports.get(name), -1)
            entry.count(node, report, 1)
        if report is None:
            reports.pop(name, None)
        else:
            reports[name] = report

    def _on_policy(self, event: PolicyEvent) -> None:
        name = event.name
        if event.policy is None:
            self._policies.pop(name, None)
            for node, reports in list(self._reports.items()):
                if reports.pop(name, None) is not None and not reports:
                    del self._reports[node]
            return
        entry = self._policies.get(name)
        if entry is None or entry.generation != event.policy.generation:
            entry = self._policies[name] = _Entry(name, event.policy.generation)
            entry.span = event.span
            self._count_all(entry)
        elif entry.span is not event.span:
            old, new = entry.span, event.span
            entry.span = new
            self._count(entry, old - new, -1)
            self._count(entry, new - old, 1)

    def _count_all(self, entry: _Entry) -> None:
        if len(entry.span) <= len(self._reports):
            self._count(entry, entry.span, 1)
        else:
            self._count(entry, (node for node in self._reports if node in entry.span), 1)

    def _count(self, entry: _Entry, nodes: Iterable[str], sign: int) -> None:
        reports, name = self._reports, entry.name
        for node in nodes:
            node_reports = reports.get(node)
            if node_reports is not None:
                entry.count(node, node_reports.get(name), sign)
