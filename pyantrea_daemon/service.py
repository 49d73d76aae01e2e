"""Service: a long-running part of a program that starts once, owns its tasks and stops cleanly.

The agent's datapath, its NetworkPolicy runtime and the controller are services:

    class Agent(Service):
        async def _start(self) -> None:
            ...                                          # set up; then
            self._tasks.spawn(watch(), name="node-watch")  # long-running work, named
            self._stack.push_async_callback(client.close)  # cleanups, run in reverse on stop

    async with Agent(config) as agent:   # start(); a start that fails stops what it had started
        await agent.wait()               # until one of its tasks fails (TaskFailed)

`stop()` cancels the tasks first, then runs the cleanups; a subclass that holds more extends it.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from pyantrea_daemon.tasks import Supervisor


class Service(ABC):
    """Base of the programs' services: a supervisor for tasks and an exit stack for cleanups."""

    def __init__(self, *, logger: logging.Logger) -> None:
        self._tasks = Supervisor(logger=logger)
        self._stack = contextlib.AsyncExitStack()

    @abstractmethod
    async def _start(self) -> None:
        """Set the service up and spawn its tasks; called once, by `start()`."""

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self._tasks.stop()
        await self._stack.aclose()

    async def wait(self) -> None:
        """Until one of the service's tasks fails; raises `TaskFailed`."""
        await self._tasks.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()
