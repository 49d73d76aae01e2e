"""The agent's OpenFlow client: desired flows per owner, one atomic bundle per change, replay.

Every part of the agent hands its complete flow set to `sync(owner, flows)` (or several owners'
to `sync_many`); the client diffs it against what that owner has installed (`fastpath`'s diff
engine) and sends the difference as ONE atomic bundle, so a change is all or nothing and the
datapath never sees half of it. Changes are serialized. A flow identity (table, priority,
match) belongs to one owner at a time; claiming another owner's identity is an error.

    client = FlowClient(rundir / "br-int.mgmt", Cookies(round))
    await client.connect()                      # first connection; clears leftovers of this round
    supervisor.spawn(client.run(), name="openflow-connection")   # reconnects and replays
    await client.sync("pod/abc", pod_flows(...))

When the connection drops (ovs-vswitchd restarted, or the socket broke) `run()` reconnects with
backoff, reads back the flows of this round, and installs every desired flow in one bundle
(deleting this round's flows nobody wants any more); then it calls the replay listeners, which
restore what the restart lost outside OpenFlow (addresses of the bridge's tap devices, routes,
flow-restore-wait). A `sync` that finds no connection records its flows and waits for that
replay. Flows of other rounds (a previous agent's) are left alone until `delete_stale_rounds()`,
which the agent calls once it has converged.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from agent.openflow.cookies import ROUND_MASK, ROUND_SHIFT, Cookies, round_of
from agent.openflow.pipeline import PIPELINE
from daemon.metrics import Metrics
from fastpath import Flow, diff_flows
from fastpath.connection import BundleError, ConnectionLost, OpenFlowConnection, OpenFlowError
from fastpath.decode import FlowStats

log = logging.getLogger(__name__)

ReplayListener = Callable[[], Awaitable[None]]
_CONNECT_ERRORS = (OSError, TimeoutError, OpenFlowError, ConnectionError)
DEFAULT_SYNC_TIMEOUT = 30.0


class FlowConflictError(ValueError):
    """A flow identity wanted by two owners."""


class FlowsNotInstalledError(RuntimeError):
    """Open vSwitch could not be reached in time; the flows stay recorded and are installed on replay."""


@dataclass(frozen=True, slots=True)
class FlowMetrics:
    """The client's Prometheus metrics."""

    bundle_seconds: Histogram
    flows: Gauge
    reconnects: Counter

    @classmethod
    def declare(cls, metrics: Metrics) -> FlowMetrics:
        return cls(
            bundle_seconds=metrics.histogram(
                "ovs_bundle_seconds",
                "Time to apply one atomic OpenFlow bundle.",
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            flows=metrics.gauge("ovs_flows", "Flows the agent has installed, by table.", labels=["table"]),
            reconnects=metrics.counter("ovs_reconnects", "OpenFlow reconnections to ovs-vswitchd."),
        )


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 0.05
    maximum: float = 2.0


@dataclass(slots=True)
class _Plan:
    """A validated change of several owners' flows, and the bundle that makes it."""

    desired: dict[str, list[Flow]]
    adds: list[Flow] = field(default_factory=list)
    modifies: list[Flow] = field(default_factory=list)
    deletes: list[Flow] = field(default_factory=list)


class FlowClient:
    """Owns the OpenFlow connection to one bridge and the agent's desired flows."""

    def __init__(
        self,
        mgmt_socket: Path,
        cookies: Cookies,
        *,
        metrics: FlowMetrics | None = None,
        backoff: Backoff = Backoff(),
        sync_timeout: float = DEFAULT_SYNC_TIMEOUT,
    ) -> None:
        self.mgmt_socket = mgmt_socket
        self.cookies = cookies
        self._metrics = metrics
        self._backoff = backoff
        self._sync_timeout = sync_timeout
        self._conn: OpenFlowConnection | None = None
        self._lock = asyncio.Lock()
        self._replayed = asyncio.Event()
        self._desired: dict[str, list[Flow]] = {}
        self._installed: dict[str, list[Flow]] = {}
        self._owner_of: dict[tuple[object, ...], str] = {}
        self._table_counts: collections.Counter[int] = collections.Counter()
        self._listeners: list[ReplayListener] = []

    # -- connection ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._replayed.is_set()

    async def connect(self, *, timeout: float = 30.0) -> None:
        """Connect for the first time (retrying until `timeout`) and drop leftovers of this round."""
        async with asyncio.timeout(timeout):
            conn = await self._connect_with_backoff()
        try:
            await conn.delete_by_cookie(self.cookies.round << ROUND_SHIFT, ROUND_MASK)
        except BaseException:
            conn.abort()
            raise
        self._conn = conn
        self._replayed.set()
        log.info("OpenFlow connected to %s (round %d)", self.mgmt_socket, self.cookies.round)

    def add_replay_listener(self, listener: ReplayListener) -> None:
        """Call `listener` after every replay (Open vSwitch may have restarted)."""
        self._listeners.append(listener)

    async def run(self) -> None:
        """Reconnect and replay whenever the connection drops; runs until cancelled."""
        while True:
            conn = self._conn
            if conn is not None:
                await asyncio.shield(conn.closed)
            async with self._lock:
                if self._conn is conn:
                    self._lose_connection()
            log.warning("OpenFlow connection to %s lost; reconnecting", self.mgmt_socket)
            if self._metrics is not None:
                self._metrics.reconnects.inc()
            conn = await self._connect_with_backoff()
            try:
                async with self._lock:
                    n = await self._replay(conn)
                    self._conn = conn
                    self._replayed.set()
            except (ConnectionError, TimeoutError) as exc:
                log.warning("replay on %s failed: %s; reconnecting", self.mgmt_socket, exc)
                conn.abort()
                continue
            log.info("OpenFlow reconnected to %s, %d flows replayed", self.mgmt_socket, n)
            for listener in self._listeners:
                try:
                    await listener()
                except Exception:
                    log.exception("replay listener %r failed", listener)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        self._replayed.clear()
        if conn is not None:
            await conn.close()

    async def _connect_with_backoff(self) -> OpenFlowConnection:
        delay = self._backoff.initial
        while True:
            try:
                return await OpenFlowConnection.connect(self.mgmt_socket, timeout=5.0)
            except _CONNECT_ERRORS as exc:
                log.debug("OpenFlow connect to %s failed: %s", self.mgmt_socket, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff.maximum)

    def _lose_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._replayed.clear()
        if conn is not None:
            conn.abort()

    async def _replay(self, conn: OpenFlowConnection) -> int:
        """Make the switch hold exactly the desired flows of this round; returns how many there are."""
        mine = self.cookies.round << ROUND_SHIFT
        present = [s.flow for s in await conn.dump_flows(cookie=mine, cookie_mask=ROUND_MASK)]
        desired = [flow for flows in self._desired.values() for flow in flows]
        adds, modifies, deletes = diff_flows(desired, present)
        await self._send(conn, adds, modifies, deletes)
        self._installed = {owner: list(flows) for owner, flows in self._desired.items()}
        return len(desired)

    # -- flows -----------------------------------------------------------------------------------

    def flows(self, owner: str) -> tuple[Flow, ...]:
        """The flows `owner` wants installed."""
        return tuple(self._desired.get(owner, ()))

    def owners(self) -> list[str]:
        return sorted(self._desired)

    def table_counts(self) -> dict[int, int]:
        """Desired flows per table id."""
        return {table: n for table, n in sorted(self._table_counts.items()) if n}

    async def sync(self, owner: str, flows: Iterable[Flow]) -> None:
        """Make `owner`'s installed flows exactly `flows`, in one atomic bundle."""
        await self.sync_many({owner: flows})

    async def remove(self, owner: str) -> None:
        await self.sync_many({owner: ()})

    async def sync_many(self, changes: Mapping[str, Iterable[Flow]]) -> None:
        """Like `sync` for several owners at once, in ONE atomic bundle.

        Raises BundleError (nothing changed) when Open vSwitch refuses a flow, FlowConflictError
        or DuplicateFlowError for an invalid set, and FlowsNotInstalledError when Open vSwitch
        stays unreachable for the sync timeout (the flows stay desired and are replayed).
        """
        async with self._lock:
            plan = self._plan(changes)
            previous = {owner: self._desired.get(owner) for owner in plan.desired}
            self._set_desired(plan.desired)
            conn = self._conn
            if conn is not None:
                try:
                    await self._send(conn, plan.adds, plan.modifies, plan.deletes)
                except BundleError:
                    self._set_desired(previous)
                    raise
                except (ConnectionError, TimeoutError) as exc:
                    log.warning("OpenFlow bundle not applied (%s); waiting for the replay", exc)
                    self._lose_connection()
                else:
                    for owner, flows in plan.desired.items():
                        if flows:
                            self._installed[owner] = flows
                        else:
                            self._installed.pop(owner, None)
                    return
        try:
            async with asyncio.timeout(self._sync_timeout):
                await self._replayed.wait()
        except TimeoutError:
            raise FlowsNotInstalledError(
                f"ovs-vswitchd at {self.mgmt_socket} unreachable for {self._sync_timeout}s; "
                f"flows of {sorted(plan.desired)} will be installed when it is back"
            ) from None

    def _plan(self, changes: Mapping[str, Iterable[Flow]]) -> _Plan:
        plan = _Plan({owner: list(flows) for owner, flows in changes.items()})
        claimed: dict[tuple[object, ...], str] = {}
        for owner, flows in plan.desired.items():
            for flow in flows:
                key = flow.key
                other = claimed.setdefault(key, owner)
                holder = self._owner_of.get(key)
                if other != owner or (holder not in (None, owner) and holder not in plan.desired):
                    raise FlowConflictError(f"{owner} wants flow {flow}, which belongs to {holder or other}")
        added: set[tuple[object, ...]] = set()
        for owner, flows in plan.desired.items():
            adds, modifies, deletes = diff_flows(flows, self._installed.get(owner, ()))
            plan.adds += adds
            plan.modifies += modifies
            plan.deletes += deletes
            added.update(f.key for f in adds)
        if added and plan.deletes:
            # An identity moving between owners of this batch: its add replaces the old flow,
            # and a delete sent after it in the bundle would remove the new one.
            plan.deletes = [f for f in plan.deletes if f.key not in added]
        return plan

    def _set_desired(self, desired: Mapping[str, list[Flow] | None]) -> None:
        for owner in desired:
            for flow in self._desired.pop(owner, ()):
                if self._owner_of.get(flow.key) == owner:
                    del self._owner_of[flow.key]
                self._table_counts[flow.table] -= 1
        for owner, flows in desired.items():
            if not flows:
                continue
            self._desired[owner] = flows
            for flow in flows:
                self._owner_of[flow.key] = owner
                self._table_counts[flow.table] += 1
        if self._metrics is not None:
            for table in PIPELINE:
                self._metrics.flows.labels(table=table.name).set(self._table_counts[table.id])

    async def _send(
        self, conn: OpenFlowConnection, adds: list[Flow], modifies: list[Flow], deletes: list[Flow]
    ) -> None:
        if not (adds or modifies or deletes):
            return
        started = time.perf_counter()
        await conn.apply_bundle(adds, modifies, deletes)
        if self._metrics is not None:
            self._metrics.bundle_seconds.observe(time.perf_counter() - started)

    # -- rounds and inspection -------------------------------------------------------------------

    async def delete_stale_rounds(self) -> list[int]:
        """Delete every flow of another round than this one; returns the rounds deleted."""
        async with self._lock:
            conn = self._require_connection()
            stale = sorted({round_of(s.flow.cookie) for s in await conn.dump_flows()} - {self.cookies.round})
            for old in stale:
                await conn.delete_by_cookie(old << ROUND_SHIFT, ROUND_MASK)
        if stale:
            log.info("deleted the flows of stale rounds %s", stale)
        return stale

    async def dump_flows(self, *, table: int | None = None) -> list[FlowStats]:
        """The flows the switch holds (with counters), of every round."""
        async with self._lock:
            conn = self._require_connection()
            if table is None:
                return await conn.dump_flows()
            return await conn.dump_flows(table=table)

    def _require_connection(self) -> OpenFlowConnection:
        if self._conn is None:
            raise ConnectionLost(f"no OpenFlow connection to {self.mgmt_socket}")
        return self._conn
