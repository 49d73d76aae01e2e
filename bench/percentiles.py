"""Percentiles of a benchmark's own timings (nearest rank: defined for a single sample too, as
when benchmarks run once with --benchmark-disable)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """The q-th percentile (0 < q <= 100) of `seconds`, in milliseconds."""
    ordered = sorted(seconds)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1] * 1000
