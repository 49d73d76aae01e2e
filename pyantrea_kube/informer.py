"""A list/watch informer on the official `kubernetes` client, delivering to the asyncio loop.

    worker thread "informer-<name>"                          event loop (Informer.run)
    list (pages of 500) ─▶ Replace(all trimmed objects) ─┐
    watch from rv (bookmarks) ─▶ Upsert/Remove ─▶ BatchChannel ─▶ store + handler callbacks
      ▲ stream ends: re-watch from the last rv                     on_add / on_update / on_delete
      ▲ stream broken: back off, re-watch                          on_synced (once, after 1st list)
      └ server down (refused): back off, re-list; 410 Gone: re-list now;
        other ERROR or API error: back off, re-list

The worker thread does all blocking I/O, JSON decoding and trimming; the loop keeps the store
(key -> trimmed value) and calls the handler, so handlers run on the loop and never race with
the store. A re-list is diffed against the store: objects that vanished while the watch was
down are reported as deletes, changed ones as updates, and unchanged ones not at all. Updates
whose trimmed value did not change are not reported either. After its API server was down the
informer re-lists rather than resume (`_unreachable`): the server that comes back may stand on an
etcd that was wiped or restored, whose history is not the one the informer saw.

A trim function reports an object it cannot use by raising ValueError: the informer logs it and
treats the object as absent (a delete, if it was present), so one malformed object does not stop
the others. Any other exception from a trim function or a handler is a bug and ends `run()`.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import random
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec
import urllib3
from kubernetes.client import ApiClient, ApiException

from pyantrea_kube.channel import BatchChannel, ChannelClosed
from pyantrea_kube.objects import object_key
from pyantrea_kube.resources import Resource
from pyantrea_kube.rest import LIST_PAGE_SIZE, RestClient, StreamError, WatchStream

log = logging.getLogger(__name__)

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

# The server could not be reached or the stream broke: back off and resume from the last rv.
_CONNECTION_ERRORS = (StreamError, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


class InformerHandler(Protocol[T_contra]):
    """Receives an informer's events on the event loop, in order."""

    def on_add(self, key: str, obj: T_contra) -> None: ...

    def on_update(self, key: str, old: T_contra, new: T_contra) -> None: ...

    def on_delete(self, key: str, obj: T_contra) -> None: ...

    def on_synced(self) -> None:
        """The first list has been delivered: the store holds the cluster's state."""


@dataclass(frozen=True, slots=True)
class InformerSettings:
    """Timing of one informer; the defaults follow client-go's reflector."""

    min_watch_seconds: int = 300
    max_watch_seconds: int = 600
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    request_timeout: float = 60.0
    queue_capacity: int = 10000
    page_size: int | None = LIST_PAGE_SIZE
    """List in pages of this many objects (limit and continue, as client-go's reflector);
    None lists at once."""


@dataclass(frozen=True, slots=True)
class _Replace(Generic[T]):
    objects: dict[str, T]


@dataclass(frozen=True, slots=True)
class _Upsert(Generic[T]):
    key: str
    obj: T


@dataclass(frozen=True, slots=True)
class _Remove:
    key: str


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


class _Stopped(Exception):
    pass


class _WatchFailed(Exception):
    """The server ended a watch with an ERROR event other than 410 Gone."""


class Informer(Generic[T]):
    """Lists and watches one resource (optionally narrowed by namespace and selectors).

    With `item_fields` (a `msgspec.Struct` naming the fields `trim` reads) listed objects are
    decoded with only those fields (`kube.listdecode`); watch events are decoded whole.

    `await run()` until cancelled; it owns one worker thread and stops it on the way out.
    """

    def __init__(
        self,
        api_client: ApiClient,
        resource: Resource,
        trim: Callable[[dict[str, Any]], T],
        *,
        handler: InformerHandler[T] | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        name: str | None = None,
        settings: InformerSettings | None = None,
        item_fields: type[msgspec.Struct] | None = None,
        optional: bool = False,
    ) -> None:
        """`optional`: the resource may not be served (a CRD not installed): while the API
        answers 404 the informer holds no objects and counts as synced, and it keeps trying."""
        self._optional = optional
        self._settings = settings or InformerSettings()
        self._rest = RestClient(api_client, timeout=self._settings.request_timeout)
        self._resource = resource
        self._trim = trim
        self._item_fields = item_fields
        self._handler = handler
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self.name = name or resource.plural
        self._objects: dict[str, T] = {}
        self._synced = asyncio.Event()
        self._stop = threading.Event()
        self._stream_lock = threading.Lock()
        self._stream: WatchStream | None = None
        self._running = False

    @property
    def store(self) -> Mapping[str, T]:
        """A read-only view of the current objects by key (`namespace/name` or `name`)."""
        return types.MappingProxyType(self._objects)

    def get(self, key: str) -> T | None:
        return self._objects.get(key)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    async def run(self) -> None:
        """List, watch and deliver until cancelled; re-raises a failure of the worker or a handler."""
        if self._running:
            raise RuntimeError(f"informer {self.name} is already running")
        self._running = True
        self._stop.clear()
        channel: BatchChannel[Any] = BatchChannel(asyncio.get_running_loop(), self._settings.queue_capacity)
        worker = threading.Thread(
            target=self._work, args=(channel,), name=f"informer-{self.name}", daemon=True
        )
        worker.start()
        try:
            while True:
                for item in await channel.get_batch():
                    self._apply(item)
        finally:
            self._stop.set()
            channel.close()
            with self._stream_lock:
                if self._stream is not None:
                    self._stream.shutdown()
            await asyncio.to_thread(worker.join)
            self._running = False

    # -- event loop side --------------------------------------------------------------------

    def _apply(self, item: Any) -> None:
        handler = self._handler
        if isinstance(item, _Upsert):
            old = self._objects.get(item.key)
            self._objects[item.key] = item.obj
            if handler is not None:
                if old is None:
                    handler.on_add(item.key, item.obj)
                elif old != item.obj:
                    handler.on_update(item.key, old, item.obj)
        elif isinstance(item, _Remove):
            gone = self._objects.pop(item.key, None)
            if gone is not None and handler is not None:
                handler.on_delete(item.key, gone)
        elif isinstance(item, _Replace):
            self._replace(item.objects)
        else:
            raise item.error

    def _replace(self, objects: dict[str, T]) -> None:
        previous, self._objects = self._objects, objects
        handler = self._handler
        if handler is not None:
            for key, old in previous.items():
                if key not in objects:
                    handler.on_delete(key, old)
            for key, obj in objects.items():
                old = previous.get(key)
                if old is None:
                    handler.on_add(key, obj)
                elif old != obj:
                    handler.on_update(key, old, obj)
        if not self._synced.is_set():
            self._synced.set()
            if handler is not None:
                handler.on_synced()

    # -- worker thread ----------------------------------------------------------------------

    def _work(self, channel: BatchChannel[Any]) -> None:
        try:
            self._list_and_watch(channel)
        except (_Stopped, ChannelClosed):
            return
        except BaseException as exc:
            # A bug (a trim function that fails, say), not an API failure: end run() with it.
            try:
                channel.put(_Failed(exc))
            except ChannelClosed:
                return

    def _list_and_watch(self, channel: BatchChannel[Any]) -> None:
        settings = self._settings
        delay = settings.backoff_initial
        resource_version: str | None = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    resource_version = self._list(channel)
                resource_version = self._watch(channel, resource_version)
                delay = settings.backoff_initial
            except (ApiException, _WatchFailed, *_CONNECTION_ERRORS) as exc:
                if self._stop.is_set():
                    return
                if not isinstance(exc, _CONNECTION_ERRORS) or _unreachable(exc):
                    resource_version = None
                absent = self._optional and isinstance(exc, ApiException) and exc.status == 404
                if absent:
                    channel.put(_Replace({}))  # not served: nothing of it exists
                wait = delay * random.uniform(0.8, 1.2)
                then = "re-watching" if resource_version is not None else "re-listing"
                if absent:
                    log.info(
                        "informer %s: not served (is its CRD installed?); listing again in %.1fs",
                        self.name,
                        wait,
                    )
                else:
                    log.warning("informer %s: %s; %s in %.1fs", self.name, _describe(exc), then, wait)
                self._stop.wait(wait)
                delay = min(delay * 2, settings.backoff_max)

    def _list(self, channel: BatchChannel[Any]) -> str:
        pages = self._rest.list_pages(
            self._resource,
            page_size=self._settings.page_size,
            item_fields=self._item_fields,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
        )
        objects: dict[str, T] = {}
        resource_version = ""
        # Page by page: only one page of raw objects is alive at a time.
        for page in pages:
            for obj in page.items:
                key = object_key(obj)
                trimmed = self._trimmed(key, obj)
                if trimmed is not None:
                    objects[key] = trimmed
            resource_version = page.resource_version
        channel.put(_Replace(objects))
        return resource_version

    def _trimmed(self, key: str, obj: dict[str, Any]) -> T | None:
        try:
            return self._trim(obj)
        except ValueError as exc:
            log.error("informer %s: ignoring %s: %s", self.name, key, exc)
            return None

    def _watch(self, channel: BatchChannel[Any], resource_version: str) -> str | None:
        """Deliver one watch's events; returns where to resume, or None to re-list (410 Gone)."""
        settings = self._settings
        stream = self._rest.watch(
            self._resource,
            resource_version=resource_version,
            timeout_seconds=random.randint(settings.min_watch_seconds, settings.max_watch_seconds),
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
        )
        with self._stream_lock:
            self._stream = stream
        try:
            if self._stop.is_set():
                raise _Stopped
            for event in stream:
                obj = event.object
                if event.type == "ERROR":
                    if obj.get("code") == 410:
                        log.info("informer %s: %s; re-listing", self.name, obj.get("message"))
                        return None
                    raise _WatchFailed(f"watch ERROR {obj.get('code')}: {obj.get('message')}")
                if event.type in ("ADDED", "MODIFIED"):
                    key = object_key(obj)
                    trimmed = self._trimmed(key, obj)
                    channel.put(_Remove(key) if trimmed is None else _Upsert(key, trimmed))
                elif event.type == "DELETED":
                    channel.put(_Remove(object_key(obj)))
                resource_version = obj["metadata"]["resourceVersion"]
        finally:
            with self._stream_lock:
                self._stream = None
            stream.close()
        if self._stop.is_set():
            raise _Stopped
        return resource_version


def _unreachable(exc: BaseException) -> bool:
    """Whether no connection could be made: the API server was down, not just a stream cut.

    The informer then re-lists rather than resume from its resourceVersion: a restarted server's
    watch cache begins at its own current resourceVersion (an older one gets 410 Gone anyway), and
    a server on a wiped or restored etcd may already be past ours with a history that is not the
    one we saw, so a watch from it would silently miss every object that is gone. The re-list is
    diffed against the store, so what did not change makes no event.
    """
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    return isinstance(exc, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"API error {exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"
