"""Undo for the steps of a CNI ADD: each step registers its inverse as it succeeds.

    async with Undo() as undo:
        address = await ipam.allocate(...)
        undo.push("release the address", lambda: ipam.release(...))
        await netlink.create_veth(...)  # raises: the address is released, then the error propagates

The undo runs as a task of its own, shielded: an ADD cancelled half-way (the plugin gave up,
the agent is stopping) still leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

log = logging.getLogger(__name__)

_running: set[asyncio.Task[None]] = set()
"""Rollbacks whose ADD was cancelled: kept referenced until they finish."""


class Undo:
    """Runs the registered undo steps, newest first, if the body of its `async with` raises."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []

    def push(self, what: str, step: Callable[[], Awaitable[object]]) -> None:
        self._steps.append((what, step))

    async def __aenter__(self) -> Undo:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            return
        task = asyncio.create_task(self._run(), name="cni add rollback")
        _running.add(task)
        task.add_done_callback(_running.discard)
        await asyncio.shield(task)

    async def _run(self) -> None:
        for what, step in reversed(self._steps):
            try:
                await step()
            except Exception:
                # keep undoing the rest; the original error is the one to report
                log.exception("rollback step failed: %s", what)
