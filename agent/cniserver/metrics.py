"""The CNI service's Prometheus metrics: how long each operation takes, which fail how, and what
the start-up clean-up removed."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from pyantrea_daemon.metrics import Metrics

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class CniMetrics:
    operation_seconds: Histogram
    """labels: command (ADD, CHECK, DEL); every call, failed or not."""
    errors: Counter
    """labels: command, code (the CNI error code's name, e.g. TRY_AGAIN_LATER)."""
    stale_cleaned: Counter
    """labels: kind (interface, address); what the start-up clean-up removed of deleted pods."""

    @classmethod
    def declare(cls, metrics: Metrics) -> CniMetrics:
        return cls(
            operation_seconds=metrics.histogram(
                "cni_operation_seconds",
                "Time the agent took to answer one CNI call.",
                labels=["command"],
                buckets=_BUCKETS,
            ),
            errors=metrics.counter(
                "cni_errors", "CNI calls answered with an error.", labels=["command", "code"]
            ),
            stale_cleaned=metrics.counter(
                "cni_stale_cleaned",
                "Interfaces and addresses of pods deleted while the agent was down, removed at start-up.",
                labels=["kind"],
            ),
        )
