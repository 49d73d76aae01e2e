"""The metrics convention: each program declares its metrics on a registry of its own.

``Metrics("agent")`` owns a ``prometheus_client.CollectorRegistry`` (never the global default,
so tests and several programs in one process do not collide), with the process, platform and
GC collectors, and names what it declares ``pyantrea_<subsystem>_<name>``; counters get
prometheus_client's ``_total`` suffix::

    metrics = Metrics("controller")
    events_sent = metrics.counter("events_sent", "Watch events sent to agents.", labels=["kind"])
    events_sent.labels(kind="AddressGroup").inc()
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

NAMESPACE = "pyantrea"


class Metrics:
    """A program's metric registry and the helpers that declare metrics on it."""

    def __init__(self, subsystem: str) -> None:
        self.subsystem = subsystem
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def counter(self, name: str, documentation: str, *, labels: Sequence[str] = ()) -> Counter:
        return Counter(
            name, documentation, labels, namespace=NAMESPACE, subsystem=self.subsystem, registry=self.registry
        )

    def gauge(self, name: str, documentation: str, *, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(
            name, documentation, labels, namespace=NAMESPACE, subsystem=self.subsystem, registry=self.registry
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        *,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        return Histogram(
            name,
            documentation,
            labels,
            buckets=buckets,
            namespace=NAMESPACE,
            subsystem=self.subsystem,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
