"""Garbage-collector settings for the controller process.

The controller holds millions of long-lived objects (informer caches, groups, members). With
CPython's default thresholds a young-generation pass runs every 700 allocations and a full pass
each time the heap grows by a quarter, which doubles the time of a bulk computation. The
controller calls `configure` at start and `freeze` once its caches are filled, so the collector
scans only objects made after that.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000
"""Allocations between young-generation passes (CPython's default is 700)."""


def configure() -> None:
    """Collect the young generation every YOUNG_THRESHOLD allocations, older ones rarely."""
    gc.set_threshold(YOUNG_THRESHOLD, 50, 1000)


def freeze() -> None:
    """Move every object alive now out of the collector's sight (they are long-lived caches)."""
    gc.collect()
    gc.freeze()
