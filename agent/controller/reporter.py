"""What this node tells the controller about the policies it enforces.

The policy agent records, per policy, the generation it installed or the error it met; the
reporter keeps the latest of each and which ones changed since the last report. After every new
watch the client sends a full report (the controller may have restarted and lost the previous
ones), then only the changes. Policies that leave the node's state are forgotten.
"""

from __future__ import annotations

from collections.abc import Collection

from pyantrea_api.reports import Realization, StatusReport


class RealizationReporter:
    """The latest realization of each policy on this node, and what changed."""

    def __init__(self, node: str) -> None:
        self._node = node
        self._current: dict[str, Realization] = {}
        self._changed: set[str] = set()
        self._forgotten: set[str] = set()
        self._full = True

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
