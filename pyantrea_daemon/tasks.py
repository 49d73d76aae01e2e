"""Named, owned long-running tasks: a supervisor in the manner of kopf's ``create_guarded_task``.

Every long-running task of a program is spawned through a ``Supervisor`` with a name. A task
that crashes is logged with its traceback at once (not when someone finally awaits it); a task
that returns although it should run until cancelled is logged too. Either is a failure the
program's main learns of through ``Supervisor.wait()``. Leaving the supervisor's ``async with``
block cancels every task it owns and waits until they have all stopped.

    async with Supervisor(logger=log) as tasks:
        tasks.spawn(watch_nodes(client), name="node-watch")
        tasks.spawn(cleanup_stale_flows(bridge), name="stale-flow-cleanup", finishable=True)
        await tasks.wait()  # until a task fails (raises TaskFailed) or main is cancelled
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

# How long stopping tasks may take before the names of the laggards are logged.
_STOP_WARNING_SECONDS = 5.0


class TaskFailed(Exception):
    """A supervised task crashed, or returned although it should have run until cancelled."""

    def __init__(self, name: str, error: BaseException | None) -> None:
        what = f"crashed: {error!r}" if error is not None else "exited unexpectedly"
        super().__init__(f"task {name!r} {what}")
        self.name = name
        self.error = error


class Supervisor:
    """Owns a program's long-running tasks: names them, reports their failures, stops them all."""

    def __init__(self, *, logger: logging.Logger) -> None:
        self._logger = logger
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._failure: TaskFailed | None = None
        self._failed = asyncio.Event()

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str, finishable: bool = False
    ) -> asyncio.Task[None]:
        """Run ``coro`` as the task ``name``; ``finishable`` tasks may return without it being a failure."""
        if self._closing:
            coro.close()
            raise RuntimeError(f"cannot spawn {name!r}: the supervisor is stopping")
        task = asyncio.create_task(self._guard(coro, name, finishable=finishable), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def names(self) -> list[str]:
        """The names of the tasks still running, sorted."""
        return sorted(task.get_name() for task in self._tasks)

    async def wait(self) -> None:
        """Wait until a supervised task fails, then raise ``TaskFailed`` for the first failure."""
        await self._failed.wait()
        assert self._failure is not None
        raise self._failure

    async def stop(self) -> None:
        """Cancel every task and wait until all have stopped; spawning is refused from now on."""
        self._closing = True
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        while pending:
            _, pending = await asyncio.wait(pending, timeout=_STOP_WARNING_SECONDS)
            if pending:
                names = sorted(task.get_name() for task in pending)
                self._logger.warning("tasks still stopping: %s", ", ".join(names))

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    async def _guard(self, coro: Coroutine[Any, Any, Any], name: str, *, finishable: bool) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            if not self._closing:
                self._logger.warning("task %s was cancelled by someone other than its supervisor", name)
                self._fail(TaskFailed(name, None))
            raise
        except Exception as error:
            self._logger.error("task %s crashed: %r", name, error, exc_info=True)
            self._fail(TaskFailed(name, error))
        else:
            if not finishable and not self._closing:
                self._logger.error("task %s exited unexpectedly", name)
                self._fail(TaskFailed(name, None))

    def _fail(self, failure: TaskFailed) -> None:
        if self._failure is None:
            self._failure = failure
            self._failed.set()


async def first_of(*waits: Coroutine[Any, Any, None]) -> None:
    """Until the first of the waits returns or raises (its exception is raised); cancels the rest."""
    tasks = [asyncio.create_task(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
