"""The one thread that owns the python-ovs IDL; everyone else talks to it through futures.

python-ovs is blocking and not thread-safe, so a single worker thread holds the `Idl` (the
connection and the in-memory replica) and runs its event loop: `Idl.run()`, then the requests
that arrived, then `poll()` on the OVSDB socket, a wake-up pipe and the nearest deadline.

Requests are of two kinds, both answered through a `concurrent.futures.Future`:

* a transaction: a tuple of commands staged into one python-ovs transaction and committed
  without blocking (the worker keeps serving other requests while it is in flight). A
  transaction that comes back TRY_AGAIN (for example because the connection dropped) is staged
  again, from scratch, once the replica has changed, until it succeeds or its deadline passes;
* a wait: a probe called on the replica after every change until it returns a value, raises,
  or its deadline passes (how the client waits for ovs-vswitchd to assign an ofport).

Reconnection is python-ovs's own: when ovsdb-server goes away the IDL reconnects with backoff
and re-reads the database; requests wait, within their deadlines, for it to be back.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ovs.poller
from ovs.db.idl import Idl, SchemaHelper, Transaction

from pyantrea_ovsdb.command import Command, Replica, TxnContext
from pyantrea_ovsdb.errors import (
    OvsdbClosedError,
    OvsdbConnectionError,
    OvsdbError,
    OvsdbTimeoutError,
    OvsdbTransactionError,
)
from pyantrea_ovsdb.schema import fetch_schema

log = logging.getLogger(__name__)

T = TypeVar("T")
Probe = Callable[[Replica], T | None]
"""Called on the replica after each change: a value ends the wait, None keeps waiting."""

_SCHEMA_RETRY_SECONDS = 0.5


@dataclass(eq=False, slots=True)
class _Txn:
    commands: tuple[Command[Any], ...]
    future: Future[list[Any]]
    deadline: float
    retry_seqno: int | None = None
    """Stage again only once the replica's change_seqno differs from this (after TRY_AGAIN)."""
    staged_seqno: int = 0
    txn: Transaction | None = None
    results: list[Any] = field(default_factory=list)
    last_status: str = "not sent yet"

    def describe(self) -> str:
        return "[" + ", ".join(repr(c) for c in self.commands) + "]"


@dataclass(eq=False, slots=True)
class _Wait:
    probe: Probe[Any]
    what: str
    future: Future[Any]
    deadline: float


def _settle(future: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    """Complete a future that the requester may have cancelled meanwhile."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


class IdlWorker:
    """Owns an `Idl` for `remote` on a dedicated thread; submit requests from any thread."""

    def __init__(self, remote: str) -> None:
        self.remote = remote
        self.ready: Future[None] = Future()
        """Done once the replica holds the database for the first time."""
        self.last_error = "not connected yet"
        """Why the schema could not be fetched from ovsdb-server, for connection errors."""
        self._inbox: queue.SimpleQueue[_Txn | _Wait] = queue.SimpleQueue()
        self._queued: list[_Txn] = []
        self._sent: list[_Txn] = []
        self._waits: list[_Wait] = []
        self._lock = threading.Lock()
        self._closed = False
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._main, name=f"ovsdb {remote}", daemon=True)

    # -- any thread --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def transact(self, commands: Sequence[Command[Any]], *, timeout: float) -> Future[list[Any]]:
        """Run `commands` in one transaction; the future gets their results, in order."""
        future: Future[list[Any]] = Future()
        self._submit(_Txn(tuple(commands), future, time.monotonic() + timeout))
        return future

    def wait_for(self, probe: Probe[T], *, what: str, timeout: float) -> Future[T]:
        """Wait until `probe` returns a value; `what` names the awaited thing in a timeout error."""
        future: Future[T] = Future()
        self._submit(_Wait(probe, what, future, time.monotonic() + timeout))
        return future

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and fail whatever is pending with `OvsdbClosedError`."""
        self._stopping.set()
        with self._lock:
            if not self._closed:
                self._wake()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _submit(self, request: _Txn | _Wait) -> None:
        with self._lock:
            if not self._closed:
                self._inbox.put(request)
                self._wake()
                return
        _settle(request.future, error=OvsdbClosedError(f"the OVSDB client for {self.remote} is closed"))

    def _wake(self) -> None:
        """Interrupt the worker's poll (callers hold the lock and checked that it is not closed)."""
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # a full pipe wakes the worker just as well

    # -- worker thread -----------------------------------------------------------------------

    def _main(self) -> None:
        self.ready.set_running_or_notify_cancel()
        idl: Idl | None = None
        try:
            helper = self._fetch_schema()
            if helper is not None:
                idl = Idl(self.remote, helper)
                self._loop(idl)
        except Exception as exc:
            log.exception("OVSDB worker for %s failed", self.remote)
            self._fail_pending(OvsdbError(f"the OVSDB worker for {self.remote} failed: {exc!r}"))
        finally:
            if idl is not None:
                idl.close()
            with self._lock:
                self._closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)
            self._fail_pending(OvsdbClosedError(f"the OVSDB client for {self.remote} is closed"))

    def _fetch_schema(self) -> SchemaHelper | None:
        while not self._stopping.is_set():
            try:
                return fetch_schema(self.remote)
            except OvsdbConnectionError as exc:
                self.last_error = str(exc)
            self._accept()
            self._expire(time.monotonic())
            self._stopping.wait(_SCHEMA_RETRY_SECONDS)
        return None

    def _loop(self, idl: Idl) -> None:
        synced = False
        while not self._stopping.is_set():
            idl.run()
            self._accept()
            if (idl.state == Idl.IDL_S_MONITORING) != synced:
                synced = not synced
                state = "synchronized with" if synced else "reconnecting to"
                log.info("%s ovsdb-server at %s", state, self.remote)
            if synced:
                _settle(self.ready)
            self._collect_replies()
            if synced:
                self._stage_queued(idl)
                self._run_probes(Replica(idl))
            self._expire(time.monotonic())
            self._block(idl)

    def _accept(self) -> None:
        while True:
            try:
                request = self._inbox.get_nowait()
            except queue.Empty:
                return
            if not request.future.set_running_or_notify_cancel():
                continue
            if isinstance(request, _Txn):
                self._queued.append(request)
            else:
                self._waits.append(request)

    def _stage_queued(self, idl: Idl) -> None:
        ready = [t for t in self._queued if t.retry_seqno != idl.change_seqno]
        self._queued = [t for t in self._queued if t.retry_seqno == idl.change_seqno]
        for request in ready:
            self._stage(idl, request)

    def _stage(self, idl: Idl, request: _Txn) -> None:
        txn = Transaction(idl)
        context = TxnContext(idl, txn)
        try:
            request.results = [command.run_idl(context) for command in request.commands]
        except Exception as exc:
            txn.abort()
            _settle(request.future, error=exc)
            return
        request.txn = txn
        request.staged_seqno = idl.change_seqno
        self._settle_txn(request, txn.commit())

    def _collect_replies(self) -> None:
        sent, self._sent = self._sent, []
        for request in sent:
            assert request.txn is not None
            self._settle_txn(request, request.txn.commit())

    def _settle_txn(self, request: _Txn, status: str) -> None:
        request.last_status = status
        if status == Transaction.INCOMPLETE:
            self._sent.append(request)
        elif status in (Transaction.SUCCESS, Transaction.UNCHANGED):
            _settle(request.future, result=request.results)
        elif status == Transaction.TRY_AGAIN:
            request.retry_seqno = request.staged_seqno
            self._queued.append(request)
        else:
            assert request.txn is not None
            detail = request.txn.get_error()
            _settle(
                request.future,
                error=OvsdbTransactionError(f"ovsdb-server rejected {request.describe()}: {detail}"),
            )

    def _run_probes(self, replica: Replica) -> None:
        waits, self._waits = self._waits, []
        for wait in waits:
            try:
                value = wait.probe(replica)
            except Exception as exc:
                _settle(wait.future, error=exc)
                continue
            if value is None:
                self._waits.append(wait)
            else:
                _settle(wait.future, result=value)

    def _expire(self, now: float) -> None:
        for request in [t for t in (*self._queued, *self._sent) if t.deadline <= now]:
            if request.txn is not None:
                request.txn.abort()
            message = (
                f"OVSDB transaction {request.describe()} did not complete in time (last status: "
                f"{request.last_status}; is ovsdb-server at {self.remote} running?)"
            )
            _settle(request.future, error=OvsdbTimeoutError(message))
        self._queued = [t for t in self._queued if t.deadline > now]
        self._sent = [t for t in self._sent if t.deadline > now]
        for wait in [w for w in self._waits if w.deadline <= now]:
            _settle(wait.future, error=OvsdbTimeoutError(f"timed out waiting for {wait.what}"))
        self._waits = [w for w in self._waits if w.deadline > now]

    def _block(self, idl: Idl) -> None:
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.fd_wait(self._wake_r, ovs.poller.POLLIN)
        deadlines = [r.deadline for r in (*self._queued, *self._sent, *self._waits)]
        if deadlines:
            poller.timer_wait(max(0, math.ceil((min(deadlines) - time.monotonic()) * 1000)))
        poller.block()
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _fail_pending(self, error: OvsdbError) -> None:
        self._accept()
        for request in (*self._queued, *self._sent, *self._waits):
            _settle(request.future, error=error)
        self._queued, self._sent, self._waits = [], [], []
        _settle(self.ready, error=OvsdbConnectionError(f"{error}: {self.last_error}"))
