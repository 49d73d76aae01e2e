"""A thread that lives in one network namespace and owns one rtnetlink socket there.

The thread enters its namespace (setns) before it opens its pyroute2 `IPRoute`, so the socket
is bound to that namespace, and it never leaves: it runs the jobs it is given, one at a time,
then closes the socket and exits when closed. There is nothing to restore and no way for a
thread to go back to a pool while inside a pod's namespace. The node's thread lives as long as
the agent (its socket cached deliberately); a pod's lives for one CNI operation.

pyroute2's synchronous `IPRoute` drives an asyncio loop of its own. It is given a plain
`SelectorEventLoop` explicitly: left to itself it would ask the event loop policy, which is
uvloop's in the agent, and pyroute2 does not work on uvloop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute

from pyantrea_netlink.errors import NetworkConfigError
from pyantrea_netlink.nsenter import enter_netns

T = TypeVar("T")
Job = Callable[[IPRoute], T]
"""Work for the thread: called with its socket, inside its namespace."""


class NetlinkThread:
    """Runs jobs in network namespace `netns` (None: the caller's own) on a thread of its own."""

    def __init__(self, netns: Path | None, *, name: str) -> None:
        self.netns = netns
        self._jobs: queue.SimpleQueue[tuple[Job[Any], Future[Any]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._failure: BaseException | None = None
        """Why the thread could not start (the namespace is missing, ...): every job fails with it."""
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job[T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if not self._closed:
                self._jobs.put((job, future))
                return future
            failure = self._failure
        future.set_exception(
            failure or NetworkConfigError(f"the netlink thread for {self._where()} is closed")
        )
        return future

    async def call(self, job: Job[T]) -> T:
        """Run `job` on the thread and await its result."""
        return await asyncio.wrap_future(self.submit(job))

    def close(self) -> None:
        """Let the thread finish the jobs already submitted, then exit; refuse new ones."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._jobs.put(None)

    def _where(self) -> str:
        return f"network namespace {self.netns}" if self.netns is not None else "the node's network namespace"

    def _main(self) -> None:
        loop = asyncio.SelectorEventLoop()
        try:
            if self.netns is not None:
                enter_netns(self.netns)
            ipr = IPRoute(use_event_loop=loop)
        except BaseException as exc:
            loop.close()
            self._refuse(exc)
            return
        try:
            while (item := self._jobs.get()) is not None:
                job, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(job(ipr))
                except BaseException as exc:
                    future.set_exception(exc)
        finally:
            ipr.close()
            loop.close()

    def _refuse(self, error: BaseException) -> None:
        """Fail every job, submitted or to come, with the error that kept the thread from starting."""
        with self._lock:
            self._closed = True
            self._failure = error
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1].set_running_or_notify_cancel():
                item[1].set_exception(error)
