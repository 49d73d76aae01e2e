"""Conjunction ids: one allocator for every policy table, ids reused first-in first-out and only
after a delay (Antrea's `idAllocator`, `MinAllocatorAsyncDeleteInterval`), so that counters,
logs and traces that name a recently released id still mean the rule that had it."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

MAX_CONJ_ID = 0xFFFFFFFF
DEFAULT_REUSE_DELAY = 5.0


class ConjIdExhaustedError(RuntimeError):
    """Every conjunction id is in use (or waiting for its reuse delay)."""


class ConjIdAllocator:
    """Hands out conjunction ids from 1; a released id comes back `reuse_delay` seconds later."""

    def __init__(
        self, *, reuse_delay: float = DEFAULT_REUSE_DELAY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._reuse_delay = reuse_delay
        self._clock = clock
        self._next = 1
        self._released: collections.deque[tuple[float, int]] = collections.deque()
        self._in_use: set[int] = set()

    def allocate(self) -> int:
        released = self._released
        if released and released[0][0] <= self._clock():
            conj_id = released.popleft()[1]
        elif self._next <= MAX_CONJ_ID:
            conj_id = self._next
            self._next += 1
        else:
            raise ConjIdExhaustedError(f"all {MAX_CONJ_ID} conjunction ids are taken")
        self._in_use.add(conj_id)
        return conj_id

    def release(self, conj_id: int) -> None:
        if conj_id not in self._in_use:
            raise ValueError(f"conjunction id {conj_id} is not allocated")
        self._in_use.remove(conj_id)
        self._released.append((self._clock() + self._reuse_delay, conj_id))

    def __len__(self) -> int:
        """Ids in use."""
        return len(self._in_use)
