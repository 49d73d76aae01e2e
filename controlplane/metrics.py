"""The controller's Prometheus metrics (`pyantrea_controller_*`), declared once per registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

from pyantrea_daemon.metrics import Metrics

_COMPUTATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class ControllerMetrics:
    objects: Gauge
    """labels: kind (NetworkPolicy, AddressGroup, AppliedToGroup); objects some node needs."""
    events_sent: Counter
    """labels: kind; events queued for watchers, one per watcher that gets it."""
    watchers: Gauge
    watchers_terminated: Counter
    """labels: reason (slow, shutdown)."""
    computation_seconds: Histogram
    """labels: phase (initial, incremental)."""
    sync_errors: Counter
    """labels: target (networkpolicy-status, ca-publish)."""
    status_reports: Counter

    @classmethod
    def declare(cls, metrics: Metrics) -> ControllerMetrics:
        return cls(
            objects=metrics.gauge(
                "objects", "Controlplane objects in the span of at least one node.", labels=["kind"]
            ),
            events_sent=metrics.counter(
                "events_sent", "Watch events queued for agents (one per agent).", labels=["kind"]
            ),
            watchers=metrics.gauge("watchers", "Agents watching the controlplane API."),
            watchers_terminated=metrics.counter(
                "watchers_terminated", "Watches the controller ended.", labels=["reason"]
            ),
            computation_seconds=metrics.histogram(
                "computation_seconds",
                "Time of one policy computation (engine sync and store update).",
                labels=["phase"],
                buckets=_COMPUTATION_BUCKETS,
            ),
            sync_errors=metrics.counter(
                "sync_errors", "Failed writes to the Kubernetes API.", labels=["target"]
            ),
            status_reports=metrics.counter("status_reports", "Realization reports received from agents."),
        )
