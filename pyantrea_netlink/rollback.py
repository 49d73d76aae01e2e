"""Undo for multi-step network changes: each step registers its inverse as it succeeds.

with Rollback() as undo:
    add_address(ipr, "eth0", address)
    undo.push(f"delete {address}", lambda: delete_address(ipr, "eth0", address))
    replace_route(ipr, route)  # raises: the address is deleted again, then the error propagates
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class Rollback:
    """A context manager that runs the registered undo steps, newest first, if its body raises."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, step: Callable[[], None]) -> None:
        self._steps.append((what, step))

    def __enter__(self) -> Rollback:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            return
        for what, step in reversed(self._steps):
            try:
                step()
            except Exception:
                # keep undoing the rest; the original error is the one to report
                log.exception("rollback step failed: %s", what)
