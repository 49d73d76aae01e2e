"""The policy computation as a running service: informer events in, store events out.

Informer handlers feed the engine (`upsert_*`/`delete_*` only mark what is dirty) and call
`mark_dirty`; the computation then waits `delay` seconds, so a burst of events costs one
`sync`, and applies the changes to the store, whose listeners (the dispatcher, the status
board) see one batch. The first sync runs once every informer has listed; the garbage collector
is paused from start-up to the end of that sync, and the objects are frozen after it
(`controlplane.gcsettings`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from controlplane import gcsettings
from controlplane.compute.engine import PolicyEngine
from controlplane.metrics import ControllerMetrics
from controlplane.store.versioned import Store

log = logging.getLogger(__name__)

DEFAULT_DELAY = 0.02
SLOW_START = 60.0
"""Seconds of initial listing after which the start-up collects garbage before freezing."""


class Computation:
    """Owns the engine and the store; `run` syncs them until cancelled."""

    def __init__(self, *, metrics: ControllerMetrics, delay: float = DEFAULT_DELAY) -> None:
        self.engine = PolicyEngine()
        self.store = Store()
        self._metrics = metrics
        self._delay = delay
        self._dirty = asyncio.Event()
        self._published = asyncio.Event()

    @property
    def published(self) -> bool:
        """Whether the first computation reached the store."""
        return self._published.is_set()

    async def wait_published(self) -> None:
        await self._published.wait()

    def mark_dirty(self) -> None:
        """The engine got events: sync soon."""
        self._dirty.set()

    async def run(self, inputs_synced: Callable[[], Awaitable[None]]) -> None:
        """Sync once `inputs_synced` returns, then after every burst of events."""
        # The initial list and sync make millions of objects and no cyclic garbage: no collection
        # until they are done (at xlarge scale collections cost about half a second), and none
        # before the freeze either, unless listing took long enough (an API server down, retried
        # with back-off) for the garbage of failed attempts to be worth collecting first.
        # The freeze comes before the collector is enabled again: every object made while it was
        # paused sits in the youngest generation, so the first allocation after enabling it
        # would otherwise start a pass over all of them (about a second at xlarge scale).
        started = time.monotonic()
        with gcsettings.paused():
            await inputs_synced()
            self._dirty.clear()
            self._sync("initial")
            gcsettings.freeze(collect=time.monotonic() - started > SLOW_START)
        self._published.set()
        log.info("initial computation published at resource version %d", self.store.resource_version)
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._delay)
            self._dirty.clear()
            self._sync("incremental")

    def _sync(self, phase: str) -> None:
        start = time.perf_counter()
        events = self.store.apply(self.engine.sync())
        seconds = time.perf_counter() - start
        self._metrics.computation_seconds.labels(phase=phase).observe(seconds)
        if events:
            log.debug("%s computation: %d events in %.3fs", phase, len(events), seconds)
