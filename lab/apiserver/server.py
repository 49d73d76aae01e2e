"""Running the API stand-in: on the caller's event loop (`ApiServer`) or in a thread of its own
(`ApiServerThread`, for blocking callers such as tests that use the `kubernetes` client).

The server owns two named background tasks: one queues a BOOKMARK on every watch that asked for
them each `bookmark_interval` seconds (kube-apiserver sends them about once a minute), and, with
a state file, one that saves the objects shortly after they change and once more on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web

from lab.apiserver.audit import RequestObserver
from lab.apiserver.kubeconfig import write_kubeconfig
from lab.apiserver.persistence import load_state, save_state
from lab.apiserver.routes import Routes
from lab.apiserver.store import Store

log = logging.getLogger(__name__)

_MAX_REQUEST_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ApiServerSettings:
    """How one API stand-in listens and behaves; `port` 0 picks a free port.

    `on_request` sees every resource request (see lab.apiserver.audit), on the server's loop.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    state_file: Path | None = None
    history_size: int = 1000
    bookmark_interval: float = 60.0
    watch_timeout: float = 1800.0
    max_pending_events: int = 10000
    save_delay: float = 0.2
    service_cidr: str = "10.96.0.0/12"
    on_request: RequestObserver | None = None


class ApiServer:
    """The lab's Kubernetes API endpoint on the running event loop."""

    def __init__(self, settings: ApiServerSettings | None = None) -> None:
        self.settings = settings or ApiServerSettings()
        self.store = Store(
            history_size=self.settings.history_size,
            max_pending=self.settings.max_pending_events,
            service_cidr=self.settings.service_cidr,
        )
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self._port}"

    async def start(self) -> None:
        """Load or bootstrap the objects, then listen; returns once connections are accepted."""
        state_file = self.settings.state_file
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)
        saved = load_state(state_file) if state_file is not None else None
        if saved is not None:
            self.store.restore(saved.resource_version, saved.objects)
        else:
            self.store.bootstrap()
        app = web.Application(client_max_size=_MAX_REQUEST_BYTES)
        Routes(
            self.store,
            token=self.settings.token,
            watch_timeout=self.settings.watch_timeout,
            on_request=self.settings.on_request,
        ).install(app)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]
        self._tasks.append(asyncio.create_task(self._send_bookmarks(), name="apiserver-bookmarks"))
        if state_file is not None:
            self.store.on_commit = self._dirty.set
            self._dirty.set()
            self._tasks.append(asyncio.create_task(self._save_changes(state_file), name="apiserver-save"))
        log.info("Kubernetes API stand-in listening on %s", self.url)

    async def stop(self) -> None:
        """End every watch, stop listening, and write the state file a last time."""
        self._stopping.set()
        self._dirty.set()
        self.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in self._tasks:
            if task.get_name() == "apiserver-bookmarks":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _send_bookmarks(self) -> None:
        while True:
            await asyncio.sleep(self.settings.bookmark_interval)
            self.store.send_bookmarks()

    async def _save_changes(self, path: Path) -> None:
        while True:
            await self._dirty.wait()
            # Coalesce a burst of writes into one save; stop() cuts the wait short.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.save_delay)
            stopping = self._stopping.is_set()
            self._dirty.clear()
            resource_version, objects = self.store.snapshot()
            try:
                await asyncio.to_thread(save_state, path, resource_version, objects)
            except OSError as exc:
                # Keep serving; the next change tries again.
                log.error("cannot save the API server state to %s: %s", path, exc)
            if stopping:
                return


class ApiServerThread:
    """An `ApiServer` on its own event loop in a background thread named `lab-apiserver`.

    Use as a context manager, or call `start()` and `stop()`; `stop()` returns once the port is
    closed and the state file written.
    """

    def __init__(self, settings: ApiServerSettings | None = None) -> None:
        self.settings = settings or ApiServerSettings()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ApiServer | None = None
        self._shutdown: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self._running().url

    @property
    def port(self) -> int:
        return self._running().port

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig for clients of this server (with its token, if it has one)."""
        return write_kubeconfig(path, self.url, self.settings.token)

    def start(self) -> ApiServerThread:
        self._thread = threading.Thread(target=self._run, name="lab-apiserver", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError(f"the API server did not start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._shutdown is not None:
            self._loop.call_soon_threadsafe(self._shutdown.set)
        self._thread.join()
        self._thread = None
        if self._error is not None:
            raise RuntimeError(f"the API server failed: {self._error}") from self._error

    def __enter__(self) -> ApiServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> ApiServer:
        if self._server is None:
            raise RuntimeError("the API server thread is not running")
        return self._server

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._started.set()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _serve(self) -> None:
        self._shutdown = asyncio.Event()
        server = ApiServer(self.settings)
        await server.start()
        self._server = server
        self._started.set()
        try:
            await self._shutdown.wait()
        finally:
            await server.stop()
