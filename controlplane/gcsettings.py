"""Garbage-collector settings for the controller process.

The controller holds millions of long-lived objects (informer caches, groups, members, events)
and makes few reference cycles. With CPython's defaults a young-generation pass runs every 700
allocations, and a bulk computation spends about a third of its time in the collector. So the
controller calls `configure` at start, runs its initial list and sync inside `paused` (nothing
they make is cyclic garbage), and calls `freeze` right after, so that later passes scan only
objects made after that.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000
"""Allocations between young-generation passes (CPython's default is 700)."""


def configure() -> None:
    """Collect the young generation every YOUNG_THRESHOLD allocations, older ones rarely."""
    gc.set_threshold(YOUNG_THRESHOLD, 50, 1000)


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block (for a bulk step that makes no cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze(*, collect: bool = True) -> None:
    """Move every object alive now out of the collector's sight, after collecting once.

    `collect=False` skips the collection, for right after a `paused` bulk step: that step made no
    cyclic garbage to find, and a full collection over the millions of objects it did make
    costs about a second at Antrea's xlarge scale, during which the event loop serves nothing.
    """
    if collect:
        gc.collect()
    gc.freeze()
