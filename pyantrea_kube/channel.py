"""A bounded hand-off from one worker thread to the event loop, drained in batches.

The blocking `kubernetes` client runs in a thread; what it reads must reach the asyncio loop
cheaply. Waking the loop once per item (`call_soon_threadsafe` each time) costs more than the
item itself on a busy watch, so the producer wakes the loop only when the buffer goes from empty
to non-empty and the consumer takes everything queued at once. When the buffer is full the
producer blocks, which in turn slows its reads from the API server: backpressure, not memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class ChannelClosed(Exception):
    """The consumer closed the channel; the producer should stop."""


class BatchChannel(Generic[T]):
    """One producer thread `put`s, the event loop `await`s `get_batch()`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._loop = loop
        self._capacity = capacity
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._ready = asyncio.Event()
        self._wakeup_pending = False
        self._closed = False

    def put(self, item: T) -> None:
        """Queue `item` (producer thread); blocks while full, raises ChannelClosed once closed."""
        with self._not_full:
            while len(self._items) >= self._capacity and not self._closed:
                self._not_full.wait()
            if self._closed:
                raise ChannelClosed
            self._items.append(item)
            if not self._wakeup_pending:
                self._wakeup_pending = True
                self._loop.call_soon_threadsafe(self._ready.set)

    async def get_batch(self) -> list[T]:
        """Everything queued, oldest first (event loop); waits until there is something."""
        while True:
            await self._ready.wait()
            with self._lock:
                self._ready.clear()
                self._wakeup_pending = False
                batch = list(self._items)
                self._items.clear()
                self._not_full.notify_all()
            if batch:
                return batch

    def close(self) -> None:
        """Refuse further items and release a blocked producer (any thread)."""
        with self._lock:
            self._closed = True
            self._not_full.notify_all()
