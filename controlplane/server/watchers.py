"""Watchers and the dispatcher that feeds them from the store, without ever waiting for one.

The dispatcher is a store listener: for each batch of store events it takes each event's
distinct views (`StoreEvent.views()`), keeps those some watcher needs, encodes each once, and
appends the bytes to the queues of the watchers of those nodes. It never awaits, so a slow agent
cannot stall the loop or the others.

A watcher's queue is bounded in events, as Antrea's are: a batch arriving while the watcher
still holds `capacity` undelivered events ends that watch (its agent watches again and resyncs
from a snapshot). A single batch is always accepted whole, so a large but quick change (one
sync that touches thousands of objects) does not cut off agents that keep up.

AppliedToGroup events have one view per node; for those, when the event's spans hold more nodes
than there are watched nodes, the dispatcher asks only the watched nodes (`for_node`), so the
views of nodes nobody watches are never built.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Collection, Iterable, Sequence

from controlplane.metrics import ControllerMetrics
from controlplane.server.encoder import EventEncoder
from controlplane.server.framing import MAX_MESSAGE_BYTES
from controlplane.store.events import AddressGroupEvent, AppliedToGroupEvent, PolicyEvent, StoreEvent
from controlplane.store.versioned import Store
from pyantrea_api.events import NodeEvent, ObjectKind
from pyantrea_api.values import value

log = logging.getLogger(__name__)


@value
class EndReason:
    """Why the controller ended a watch."""

    message: str
    slow: bool
    """The watcher fell behind (else the controller is stopping)."""


class WatcherTerminated(Exception):
    """The dispatcher ended this watch."""

    def __init__(self, reason: EndReason) -> None:
        super().__init__(reason.message)
        self.reason = reason


class Watcher:
    """One agent's watch: the event bytes queued for it, and whether it was ended."""

    def __init__(self, node: str, peer: str, capacity: int) -> None:
        self.node = node
        self.peer = peer
        self.connected_at = time.time()
        self.events_sent = 0
        self._capacity = capacity
        self._chunks: collections.deque[bytes] = collections.deque()
        self._ready = asyncio.Event()
        self.ended: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()
        """Resolves with the reason once the dispatcher ends the watch."""

    @property
    def queued(self) -> int:
        """Events waiting to be sent."""
        return len(self._chunks)

    def push(self, chunks: Sequence[bytes]) -> bool:
        """Queue one batch; False (and the watch ended) when the queue was already full."""
        if len(self._chunks) >= self._capacity:
            self.end(EndReason(f"fell behind: {len(self._chunks)} events undelivered", slow=True))
            return False
        self._chunks.extend(chunks)
        self._ready.set()
        return True

    def end(self, reason: EndReason) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)
            self._ready.set()

    async def next_message(self, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[bytes, int]:
        """The queued events as one WatchBatch of up to `max_bytes` (or one bigger event), and
        how many events it holds; waits while the queue is empty."""
        while not self._chunks:
            if self.ended.done():
                raise WatcherTerminated(self.ended.result())
            self._ready.clear()
            await self._ready.wait()
        if self.ended.done():
            raise WatcherTerminated(self.ended.result())
        chunks = self._chunks
        taken = [chunks.popleft()]
        size = len(taken[0])
        while chunks and size + len(chunks[0]) <= max_bytes:
            item = chunks.popleft()
            taken.append(item)
            size += len(item)
        return b"".join(taken), len(taken)


class Dispatcher:
    """Registers watchers on a store and queues every later event view for them."""

    def __init__(self, store: Store, *, capacity: int, metrics: ControllerMetrics) -> None:
        self._store = store
        self._capacity = capacity
        self._metrics = metrics
        self._encoder = EventEncoder()
        self._by_node: dict[str, list[Watcher]] = {}
        self._unsubscribe = store.subscribe(self._on_events)

    def watch(self, node: str, peer: str) -> tuple[Watcher, list[bytes]]:
        """A new watcher for `node` and its initial events, taken in one step: every later
        event reaches the watcher's queue."""
        watcher = Watcher(node, peer, self._capacity)
        snapshot = self._store.snapshot(node)
        initial = self._encoder.initial(snapshot)
        self._by_node.setdefault(node, []).append(watcher)
        self._metrics.watchers.inc()
        sent = self._metrics.events_sent
        sent.labels(kind=ObjectKind.NETWORK_POLICY.value).inc(len(snapshot.policies))
        sent.labels(kind=ObjectKind.ADDRESS_GROUP.value).inc(len(snapshot.address_groups))
        sent.labels(kind=ObjectKind.APPLIED_TO_GROUP.value).inc(len(snapshot.applied_to_groups))
        return watcher, initial

    def remove(self, watcher: Watcher) -> None:
        watchers = self._by_node.get(watcher.node)
        if watchers is None or watcher not in watchers:
            return
        watchers.remove(watcher)
        if not watchers:
            del self._by_node[watcher.node]
        self._metrics.watchers.dec()

    def watchers(self) -> list[Watcher]:
        return [watcher for watchers in self._by_node.values() for watcher in watchers]

    def close(self) -> None:
        """Stop dispatching and end every watch: the controller is stopping."""
        self._unsubscribe()
        watchers = self.watchers()
        for watcher in watchers:
            watcher.end(EndReason("the controller is stopping", slow=False))
        self._metrics.watchers_terminated.labels(reason="shutdown").inc(len(watchers))

    def _on_events(self, events: Sequence[StoreEvent]) -> None:
        encoder = self._encoder
        for event in events:
            if not isinstance(event, AppliedToGroupEvent):
                encoder.forget(event.kind, event.name)
        by_node = self._by_node
        if not by_node:
            return
        queued: dict[Watcher, list[bytes]] = {}
        sent: collections.Counter[ObjectKind] = collections.Counter()
        for event in events:
            for view, nodes in self._views(event):
                targets = self._targets(nodes)
                if not targets:
                    continue
                data = encoder.view(view)
                for watcher in targets:
                    pending = queued.get(watcher)
                    if pending is None:
                        queued[watcher] = [data]
                    else:
                        pending.append(data)
                sent[view.kind] += len(targets)
        for watcher, chunks in queued.items():
            if not watcher.push(chunks):
                self.remove(watcher)
                log.warning("watch of node %s from %s ended: too slow", watcher.node, watcher.peer)
                self._metrics.watchers_terminated.labels(reason="slow").inc()
        for kind, count in sent.items():
            self._metrics.events_sent.labels(kind=kind.value).inc(count)

    def _views(self, event: StoreEvent) -> Iterable[tuple[NodeEvent, Collection[str]]]:
        if isinstance(event, PolicyEvent | AddressGroupEvent):
            return event.views()
        if len(event.prev_span) + len(event.span) <= len(self._by_node):
            return event.views()
        return ((view, (node,)) for node in self._by_node if (view := event.for_node(node)) is not None)

    def _targets(self, nodes: Collection[str]) -> list[Watcher]:
        by_node = self._by_node
        if len(nodes) <= len(by_node):
            return [w for node in nodes if (watchers := by_node.get(node)) for w in watchers]
        return [w for node, watchers in by_node.items() if node in nodes for w in watchers]
