"""One pod's worker: brings the node in line with the pod, one step at a time, until it is gone.

The kubelet runs one worker per pod key (`namespace/name`) it has seen; changes only wake the
worker, which then looks at the pod as the informer has it now. It makes the sandbox, starts
one program per container (lab.kubelet.programs) and reports `Running`; restarts a container's
program that ended (counting that container's restarts); restarts them all when the containers or
volumes change; tears everything down
when the pod is deleted or replaced by one with another uid. A failed step is reported in the
pod's status and retried with backoff (every second while the network plugin says "try again
later").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lab.kubelet import status
from lab.kubelet.pods import PodView
from lab.kubelet.programs import PodPrograms, ProgramFailure
from lab.kubelet.sandbox import Sandboxes, SandboxFailure, SandboxRecord
from lab.kubelet.server import PodServer, ServerFailure

log = logging.getLogger(__name__)

_BACKOFF_INITIAL = 1.0
_BACKOFF_MAX = 30.0
_TRY_AGAIN_SECONDS = 1.0
_RECHECK_SECONDS = 5.0
"""After confirming a deletion, look again this much later if the pod is still there."""


class StatusWriter(Protocol):
    async def __call__(self, pod: PodView, pod_status: dict[str, Any]) -> bool:
        """Merge `pod_status` into the pod's status; False when that failed (it is retried)."""


class DeletionConfirmer(Protocol):
    async def __call__(self, pod: PodView) -> bool:
        """Delete the stopped pod for good (grace period 0, this uid only); False when that failed."""


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """What every worker of one kubelet shares."""

    sandboxes: Sandboxes
    programs: PodPrograms
    host_ip: str
    desired: Callable[[str], PodView | None]
    """The pod as the informer has it now, or None once deleted."""
    write_status: StatusWriter
    confirm_deletion: DeletionConfirmer


class _Failed(Exception):
    def __init__(self, reason: str, message: str, retry: float) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.retry = retry


class PodWorker:
    def __init__(self, key: str, context: WorkerContext) -> None:
        self.key = key
        self._context = context
        self._changed = asyncio.Event()
        self._changed.set()
        self._sandbox: SandboxRecord | None = None
        self._pod_ip = ""
        self._servers: dict[str, PodServer] = {}
        """The running program of each container, by container name."""
        self._running_spec: object = None
        """What of the pod the running programs were made from (containers, volumes, account)."""
        self._ended: dict[str, asyncio.Task[str]] = {}
        """Per running container: done when its program ended by itself."""
        self._started_at = ""
        self._container_started: dict[str, str] = {}
        self._restarts: dict[str, int] = {}
        self._reported: tuple[str, ...] = ()
        self._backoff = _BACKOFF_INITIAL

    def wake(self) -> None:
        self._changed.set()

    async def run(self) -> None:
        """Until the pod is gone and its sandbox torn down (then returns)."""
        retry: float | None = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), retry)
                self._changed.clear()
                pod = self._context.desired(self.key)
                if self._sandbox is not None and (pod is None or pod.uid != self._sandbox.uid):
                    await self._teardown()
                if pod is None:
                    return
                if pod.deleting:
                    retry = await self._terminate(pod)
                    continue
                retry = await self._step(pod)
        finally:
            # Cancelled (the kubelet stops): the pod's programs keep running, as containers do.
            for watch in self._ended.values():
                watch.cancel()

    async def _terminate(self, pod: PodView) -> float | None:
        """A pod being deleted: its server stops and its sandbox goes (CNI DEL), then the kubelet
        tells the API server it is done, which removes the pod; its informer's delete ends the worker.
        A confirmation is looked at again later: an API server restarting answered 404 for a pod it
        still held (a soak found the pod left Terminating for good), and no event came to say so."""
        if self._sandbox is not None:
            await self._teardown()
        return _RECHECK_SECONDS if await self._context.confirm_deletion(pod) else _TRY_AGAIN_SECONDS

    async def _step(self, pod: PodView) -> float | None:
        """One convergence step; returns when to try again (None: when something changes)."""
        try:
            await self._converge(pod)
        except _Failed as failure:
            log.warning("pod %s: %s", self.key, failure)
            pod_status = status.waiting(pod, host_ip=self._context.host_ip, reason=failure.reason,
                                        message=failure.message, restarts=self._restarts)  # fmt: skip
            reported = await self._report(pod, pod_status, (failure.reason, failure.message))
            return failure.retry if reported else _TRY_AGAIN_SECONDS
        self._backoff = _BACKOFF_INITIAL
        what = ("Running", self._pod_ip, repr(sorted(self._restarts.items())), self._started_at,
                repr(sorted(self._container_started.items())))  # fmt: skip
        if self._reported == what:
            return None
        pod_status = status.running(pod, pod_ip=self._pod_ip, host_ip=self._context.host_ip,
                                    container_id=self._sandbox.container_id if self._sandbox else "",
                                    started_at=self._started_at, containers_started=self._container_started,
                                    restarts=self._restarts)  # fmt: skip
        return None if await self._report(pod, pod_status, what) else _TRY_AGAIN_SECONDS

    async def _converge(self, pod: PodView) -> None:
        """Make the sandbox and server match `pod`."""
        if pod.host_network:
            raise _Failed(status.UNSUPPORTED, "the lab runs no hostNetwork pods", retry=_BACKOFF_MAX)
        if self._sandbox is None:
            try:
                self._sandbox, address = await self._context.sandboxes.create(pod)
            except SandboxFailure as failure:
                if failure.try_again_later:
                    raise _Failed(
                        status.NETWORK_NOT_READY, str(failure), retry=_TRY_AGAIN_SECONDS
                    ) from failure
                raise _Failed(status.SANDBOX_FAILED, str(failure), retry=self._next_backoff()) from failure
            self._pod_ip = str(address.ip)
            log.info("pod %s: sandbox %s, address %s", self.key, self._sandbox.netns, address)
        if self._running_spec != _spec(pod):
            await self._stop_servers()
            self._running_spec = _spec(pod)
        for name, watch in list(self._ended.items()):
            if watch.done():
                self._restarts[name] = self._restarts.get(name, 0) + 1
                await self._stop_server(name)
        if len(self._servers) < len(pod.containers):
            await self._start_servers(pod)

    async def _start_servers(self, pod: PodView) -> None:
        """Start the program of every container that has none running."""
        assert self._sandbox is not None
        directory = self._context.sandboxes.directory(pod.uid)
        try:
            launches = await self._context.programs.launches(pod, directory)
        except ProgramFailure as failure:
            raise _Failed(status.SERVER_FAILED, str(failure), retry=self._next_backoff()) from failure
        for name, launch in launches.items():
            if name in self._servers:
                continue
            server = PodServer(netns=self._sandbox.netns, pod=pod.key, container=name, launch=launch,
                               log=directory / "logs" / f"{name or 'container'}.log")  # fmt: skip
            try:
                await server.start()
            except ServerFailure as failure:
                raise _Failed(status.SERVER_FAILED, str(failure), retry=self._next_backoff()) from failure
            self._servers[name] = server
            self._container_started[name] = status.now()
            self._started_at = self._started_at or self._container_started[name]
            self._ended[name] = asyncio.create_task(self._watch(server), name=f"pod-server-{self.key}-{name}")

    async def _watch(self, server: PodServer) -> str:
        why = await server.wait()
        log.warning("pod %s: %s", self.key, why)
        self.wake()
        return why

    async def _stop_server(self, name: str) -> None:
        watch = self._ended.pop(name, None)
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        server = self._servers.pop(name, None)
        if server is not None:
            await server.stop()

    async def _stop_servers(self) -> None:
        for name in list(self._servers.keys() | self._ended.keys()):
            await self._stop_server(name)
        self._started_at = ""
        self._container_started.clear()

    async def _teardown(self) -> None:
        assert self._sandbox is not None
        await self._stop_servers()
        await self._context.sandboxes.destroy(self._sandbox)
        log.info("pod %s: sandbox %s removed", self.key, self._sandbox.netns)
        self._sandbox = None
        self._pod_ip = ""
        self._restarts.clear()
        self._running_spec = None
        self._reported = ()

    async def _report(self, pod: PodView, pod_status: dict[str, Any], what: tuple[str, ...]) -> bool:
        """Write the status unless it says what was last written; False when the write failed."""
        if what == self._reported:
            return True
        if not await self._context.write_status(pod, pod_status):
            return False
        self._reported = what
        return True

    def _next_backoff(self) -> float:
        delay, self._backoff = self._backoff, min(self._backoff * 2, _BACKOFF_MAX)
        return delay


def _spec(pod: PodView) -> object:
    return (pod.containers, pod.config_maps, pod.service_account)
