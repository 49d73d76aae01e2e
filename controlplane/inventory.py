"""How many objects of each kind the store holds for some node, for the `objects` gauge."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Gauge

from controlplane.store.events import StoreEvent
from pyantrea_api.events import ObjectKind


class ObjectCounter:
    """A store listener that counts, per kind, the objects whose span is not empty."""

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._names: dict[ObjectKind, set[str]] = {kind: set() for kind in ObjectKind}
        for kind in ObjectKind:
            gauge.labels(kind=kind.value).set(0)

    def count(self, kind: ObjectKind) -> int:
        return len(self._names[kind])

    def on_events(self, events: Sequence[StoreEvent]) -> None:
        touched = set()
        for event in events:
            names = self._names[event.kind]
            if event.span:
                names.add(event.name)
            else:
                names.discard(event.name)
            touched.add(event.kind)
        for kind in touched:
            self._gauge.labels(kind=kind.value).set(len(self._names[kind]))
