"""A keyed work queue for one consumer on the event loop: a key added while queued is queued once."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")


class WorkQueue(Generic[K]):
    def __init__(self) -> None:
        self._keys: OrderedDict[K, None] = OrderedDict()
        self._ready = asyncio.Event()

    def add(self, key: K) -> None:
        self._keys[key] = None
        self._ready.set()

    def add_later(self, key: K, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.add, key)

    async def get(self) -> K:
        while not self._keys:
            self._ready.clear()
            await self._ready.wait()
        key, _ = self._keys.popitem(last=False)
        return key
