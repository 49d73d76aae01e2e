"""Each benchmark's figures with their targets, checked only when timing is on.

A benchmark records what it measured with `Figures.record` (a value, its unit, and the target it
is held to, if any) and ends with `Figures.check()`. With timing on (`scripts/bench.sh`) a
missed target fails the benchmark, after every figure was recorded; with `--benchmark-disable`
(the test command's smoke run, at small scale) targets are recorded but never checked, since a
smoke run's figures mean nothing.

The figures land in the benchmark's `extra_info["figures"]`, where `bench.results` reads them,
each with the 1-minute load average at the time: the machine is shared, and a figure taken
under load is worth less.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Target:
    """`value <= limit` or `value >= limit`."""

    op: Literal["<=", ">="]
    limit: float

    def met(self, value: float) -> bool:
        return value <= self.limit if self.op == "<=" else value >= self.limit


def at_most(limit: float) -> Target:
    return Target("<=", limit)


def at_least(limit: float) -> Target:
    return Target(">=", limit)


class Figures:
    """The figures of one benchmark (`benchmark` is pytest-benchmark's fixture)."""

    def __init__(self, benchmark: Any) -> None:
        self._benchmark = benchmark
        self._misses: list[str] = []

    @property
    def timing(self) -> bool:
        """Whether this is a timed run (not `--benchmark-disable`)."""
        return bool(self._benchmark.enabled)

    def record(self, key: str, value: float, unit: str, what: str, *, target: Target | None = None) -> None:
        """One figure; `what` says what it measures, as a row of the README's table would."""
        entry: dict[str, Any] = {"what": what, "value": value, "unit": unit, "load": _load()}
        if target is not None:
            met = target.met(value)
            entry.update(target=f"{target.op} {target.limit:g}", met=met)
            if not met:
                self._misses.append(f"{key} = {value:g} {unit}, target {target.op} {target.limit:g} {unit}")
        extra = self._benchmark.extra_info
        extra.setdefault("figures", {})[key] = entry

    def info(self, **values: Any) -> None:
        """Context that is not a figure (counts, the baseline's parts)."""
        self._benchmark.extra_info.update(values)

    def check(self) -> None:
        """Fails a timed run that missed a target; a smoke run passes whatever it measured."""
        if self._misses and self.timing:
            # Imported here: scenario modules import this one, and their fresh processes
            # (`bench.isolated`) should not carry pytest in their memory.
            import pytest

            pytest.fail("missed targets: " + "; ".join(self._misses))


def _load() -> float:
    return round(os.getloadavg()[0], 2)
