"""The agent's OpenFlow client: desired flows per owner, one atomic bundle per change, replay.

Every part of the agent hands its complete flow set to `sync(owner, flows)` (or several owners'
to `sync_many`); the client diffs it against what that owner has installed (`fastpath`'s diff
engine) and sends the difference as ONE atomic bundle, so a change is all or nothing and the
datapath never sees half of it. An owner with many flows that changes a few at a time (the
policy reconciler) hands over only the change: `update(owner, put=flows, remove=identities)`
costs what the change costs, not what the owner holds. Changes are serialized. A flow identity
(table, priority, match) belongs to one owner at a time; claiming another owner's identity is
an error. Groups (the Services' select groups) are owned the same way, by group id, and travel
in the same bundles as the flows that use them (`sync(owner, flows, groups=...)`,
`update(owner, put_groups=..., remove_groups=...)`).

    client = FlowClient(rundir / "br-int.mgmt", Cookies(round))
    await client.connect()                      # first connection; clears leftovers of this round
    supervisor.spawn(client.run(), name="openflow-connection")   # reconnects and replays
    await client.sync("pod/abc", pod_flows(...))
    await client.update("networkpolicy", put=[changed_flow], remove=[gone_flow.key])

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
from fastpath import DuplicateFlowError, DuplicateGroupError, Flow, Group, Match, diff_flows, diff_groups
from fastpath.connection import BundleError, ConnectionLost, OpenFlowConnection, OpenFlowError
from fastpath.decode import FlowStats
from pyantrea_daemon.metrics import Metrics

log = logging.getLogger(__name__)

ReplayListener = Callable[[], Awaitable[None]]
FlowKey = tuple[int, int, Match]
"""A flow's identity: (table, priority, match), as `Flow.key`."""
FlowSet = dict[FlowKey, Flow]
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


GroupSet = dict[int, Group]


@dataclass(slots=True)
class _GroupChange:
    """The group mods of one bundle."""

    adds: list[Group] = field(default_factory=list)
    modifies: list[Group] = field(default_factory=list)
    deletes: list[Group] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.adds or self.modifies or self.deletes)


@dataclass(slots=True)
class _Plan:
    """A validated change of several owners' flows, and the bundle that makes it."""

    desired: dict[str, FlowSet]
    adds: list[Flow] = field(default_factory=list)
    modifies: list[Flow] = field(default_factory=list)
    deletes: list[Flow] = field(default_factory=list)
    desired_groups: dict[str, GroupSet] = field(default_factory=dict)
    groups: _GroupChange = field(default_factory=_GroupChange)


@dataclass(slots=True)
class _Update:
    """A validated change of one owner's flows: flows to put and identities to remove."""

    owner: str
    put: FlowSet
    remove: list[FlowKey]
    adds: list[Flow] = field(default_factory=list)
    modifies: list[Flow] = field(default_factory=list)
    deletes: list[Flow] = field(default_factory=list)
    put_groups: GroupSet = field(default_factory=dict)
    remove_groups: list[int] = field(default_factory=list)
    groups: _GroupChange = field(default_factory=_GroupChange)


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
        # Per owner, by identity; `_installed` is what the switch holds of each owner's flows
        # (it lags `_desired` only while the connection is down, until the replay).
        self._desired: dict[str, FlowSet] = {}
        self._installed: dict[str, FlowSet] = {}
        self._owner_of: dict[tuple[object, ...], str] = {}
        self._table_counts: collections.Counter[int] = collections.Counter()
        self._listeners: list[ReplayListener] = []
        self._desired_groups: dict[str, GroupSet] = {}
        self._installed_groups: dict[str, GroupSet] = {}
        self._group_owner: dict[int, str] = {}

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
        desired = [flow for flows in self._desired.values() for flow in flows.values()]
        adds, modifies, deletes = diff_flows(desired, present)
        # Groups have no cookie to tell rounds apart: every desired one is (re)written, as
        # ADD_OR_MOD, whether the switch restarted (it has none) or not.
        groups = _GroupChange(adds=[g for gs in self._desired_groups.values() for g in gs.values()])
        await self._send(conn, adds, modifies, deletes, groups)
        self._installed = {owner: dict(flows) for owner, flows in self._desired.items()}
        self._installed_groups = {owner: dict(gs) for owner, gs in self._desired_groups.items()}
        return len(desired)

    # -- flows -----------------------------------------------------------------------------------

    def flows(self, owner: str) -> tuple[Flow, ...]:
        """The flows `owner` wants installed."""
        return tuple(self._desired.get(owner, {}).values())

    def groups(self, owner: str) -> tuple[Group, ...]:
        """The groups `owner` wants installed."""
        return tuple(self._desired_groups.get(owner, {}).values())

    def owners(self) -> list[str]:
        return sorted(set(self._desired) | set(self._desired_groups))

    def table_counts(self) -> dict[int, int]:
        """Desired flows per table id."""
        return {table: n for table, n in sorted(self._table_counts.items()) if n}

    async def sync(self, owner: str, flows: Iterable[Flow], *, groups: Iterable[Group] | None = None) -> None:
        """Make `owner`'s installed flows exactly `flows` (and its groups exactly `groups`,
        when given), in one atomic bundle."""
        await self.sync_many({owner: flows}, groups=None if groups is None else {owner: groups})

    async def remove(self, owner: str) -> None:
        await self.sync_many({owner: ()}, groups={owner: ()})

    async def sync_many(
        self, changes: Mapping[str, Iterable[Flow]], *, groups: Mapping[str, Iterable[Group]] | None = None
    ) -> None:
        """Like `sync` for several owners at once, in ONE atomic bundle.

        Raises BundleError (nothing changed) when Open vSwitch refuses a flow, FlowConflictError
        or DuplicateFlowError for an invalid set, and FlowsNotInstalledError when Open vSwitch
        stays unreachable for the sync timeout (the flows stay desired and are replayed).
        """
        async with self._lock:
            plan = self._plan(changes)
            self._plan_groups(plan, groups or {})
            previous = {owner: self._desired.get(owner) for owner in plan.desired}
            previous_groups = {owner: self._desired_groups.get(owner) for owner in plan.desired_groups}

            def undo() -> None:
                self._set_desired(previous)
                self._set_desired_groups(previous_groups)

            self._set_desired(plan.desired)
            self._set_desired_groups(plan.desired_groups)
            sent = await self._apply(plan.adds, plan.modifies, plan.deletes, plan.groups, undo=undo)
            if sent:
                for owner, flows in plan.desired.items():
                    if flows:
                        self._installed[owner] = dict(flows)
                    else:
                        self._installed.pop(owner, None)
                for owner, gs in plan.desired_groups.items():
                    if gs:
                        self._installed_groups[owner] = dict(gs)
                    else:
                        self._installed_groups.pop(owner, None)
                return
        await self._wait_for_replay(sorted(plan.desired))

    async def update(
        self,
        owner: str,
        *,
        put: Iterable[Flow] = (),
        remove: Iterable[FlowKey] = (),
        put_groups: Iterable[Group] = (),
        remove_groups: Iterable[int] = (),
    ) -> None:
        """Change some of `owner`'s flows and groups, in one atomic bundle: add or replace the
        flows of `put` and the groups of `put_groups`, delete the flows of the identities in
        `remove` and the groups of the ids in `remove_groups` (unknown ones are ignored).

        Raises like `sync_many`; also ValueError for an identity (or group id) both put and removed.
        """
        async with self._lock:
            change = self._plan_update(owner, put, remove)
            self._plan_group_update(change, put_groups, remove_groups)
            undo = self._put_desired(change)
            undo_groups = self._put_desired_groups(change)

            def undo_all() -> None:
                self._undo_desired(owner, undo)
                self._set_desired_groups({owner: undo_groups})

            sent = await self._apply(
                change.adds, change.modifies, change.deletes, change.groups, undo=undo_all
            )
            if sent:
                installed_groups = self._installed_groups.setdefault(owner, {})
                for group in [*change.groups.adds, *change.groups.modifies]:
                    installed_groups[group.group_id] = group
                for group in change.groups.deletes:
                    del installed_groups[group.group_id]
                if not installed_groups:
                    del self._installed_groups[owner]
                installed = self._installed.setdefault(owner, {})
                for flow in change.adds:
                    installed[flow.key] = flow
                for flow in change.modifies:
                    installed[flow.key] = flow
                for flow in change.deletes:
                    del installed[flow.key]
                if not installed:
                    del self._installed[owner]
                return
        await self._wait_for_replay([owner])

    async def _apply(
        self,
        adds: list[Flow],
        modifies: list[Flow],
        deletes: list[Flow],
        groups: _GroupChange,
        *,
        undo: Callable[[], None],
    ) -> bool:
        """Send a planned change; whether the switch has it (False: it is left to the replay)."""
        conn = self._conn
        if conn is None:
            return False
        try:
            await self._send(conn, adds, modifies, deletes, groups)
        except BundleError:
            undo()
            raise
        except (ConnectionError, TimeoutError) as exc:
            log.warning("OpenFlow bundle not applied (%s); waiting for the replay", exc)
            self._lose_connection()
            return False
        return True

    async def _wait_for_replay(self, owners: list[str]) -> None:
        try:
            async with asyncio.timeout(self._sync_timeout):
                await self._replayed.wait()
        except TimeoutError:
            raise FlowsNotInstalledError(
                f"ovs-vswitchd at {self.mgmt_socket} unreachable for {self._sync_timeout}s; "
                f"flows of {owners} will be installed when it is back"
            ) from None

    def _plan(self, changes: Mapping[str, Iterable[Flow]]) -> _Plan:
        lists = {owner: list(flows) for owner, flows in changes.items()}
        claimed: dict[FlowKey, str] = {}
        for owner, flows in lists.items():
            for flow in flows:
                key = flow.key
                other = claimed.setdefault(key, owner)
                holder = self._owner_of.get(key)
                if other != owner or (holder not in (None, owner) and holder not in lists):
                    raise FlowConflictError(f"{owner} wants flow {flow}, which belongs to {holder or other}")
        plan = _Plan({})
        added: set[FlowKey] = set()
        for owner, flows in lists.items():
            adds, modifies, deletes = diff_flows(flows, self._installed.get(owner, {}).values())
            plan.desired[owner] = {flow.key: flow for flow in flows}
            plan.adds += adds
            plan.modifies += modifies
            plan.deletes += deletes
            added.update(f.key for f in adds)
        if added and plan.deletes:
            # An identity moving between owners of this batch: its add replaces the old flow,
            # and a delete sent after it in the bundle would remove the new one.
            plan.deletes = [f for f in plan.deletes if f.key not in added]
        return plan

    def _plan_update(self, owner: str, put: Iterable[Flow], remove: Iterable[FlowKey]) -> _Update:
        change = _Update(owner, {}, list(remove))
        owner_of = self._owner_of
        for flow in put:
            key = flow.key
            if key in change.put:
                raise DuplicateFlowError(f"flows to put share an identity: {flow}")
            holder = owner_of.get(key)
            if holder is not None and holder != owner:
                raise FlowConflictError(f"{owner} wants flow {flow}, which belongs to {holder}")
            change.put[key] = flow
        installed = self._installed.get(owner, {})
        for key, flow in change.put.items():
            old = installed.get(key)
            if old is None:
                change.adds.append(flow)
            elif old != flow:
                change.modifies.append(flow)
        for key in change.remove:
            if key in change.put:
                raise ValueError(f"{owner} both puts and removes flow identity {key}")
            old = installed.get(key)
            if old is not None:
                change.deletes.append(old)
        return change

    def _plan_groups(self, plan: _Plan, groups: Mapping[str, Iterable[Group]]) -> None:
        lists = {owner: list(gs) for owner, gs in groups.items()}
        claimed: dict[int, str] = {}
        for owner, gs in lists.items():
            for group in gs:
                other = claimed.setdefault(group.group_id, owner)
                holder = self._group_owner.get(group.group_id)
                if other != owner or (holder not in (None, owner) and holder not in lists):
                    raise FlowConflictError(
                        f"{owner} wants group {group.group_id}, which belongs to {holder or other}"
                    )
        added: set[int] = set()
        for owner, gs in lists.items():
            adds, modifies, deletes = diff_groups(gs, self._installed_groups.get(owner, {}).values())
            plan.desired_groups[owner] = {g.group_id: g for g in gs}
            plan.groups.adds += adds
            plan.groups.modifies += modifies
            plan.groups.deletes += deletes
            added.update(g.group_id for g in adds)
        if added:
            plan.groups.deletes = [g for g in plan.groups.deletes if g.group_id not in added]

    def _plan_group_update(self, change: _Update, put: Iterable[Group], remove: Iterable[int]) -> None:
        owner = change.owner
        for group in put:
            if group.group_id in change.put_groups:
                raise DuplicateGroupError(f"groups to put share id {group.group_id}")
            holder = self._group_owner.get(group.group_id)
            if holder is not None and holder != owner:
                raise FlowConflictError(f"{owner} wants group {group.group_id}, which belongs to {holder}")
            change.put_groups[group.group_id] = group
        change.remove_groups = list(remove)
        installed = self._installed_groups.get(owner, {})
        for group_id, group in change.put_groups.items():
            old = installed.get(group_id)
            if old is None:
                change.groups.adds.append(group)
            elif old != group:
                change.groups.modifies.append(group)
        for group_id in change.remove_groups:
            if group_id in change.put_groups:
                raise ValueError(f"{owner} both puts and removes group {group_id}")
            old = installed.get(group_id)
            if old is not None:
                change.groups.deletes.append(old)

    def _put_desired_groups(self, change: _Update) -> GroupSet | None:
        """Record the change's groups as desired; returns the owner's groups before it."""
        owner = change.owner
        before = self._desired_groups.get(owner)
        if not change.put_groups and not change.remove_groups:
            return before
        desired = dict(before or {})
        desired.update(change.put_groups)
        for group_id in change.remove_groups:
            desired.pop(group_id, None)
        self._set_desired_groups({owner: desired})
        return before

    def _set_desired_groups(self, desired: Mapping[str, GroupSet | None]) -> None:
        for owner in desired:
            for group_id in self._desired_groups.pop(owner, {}):
                if self._group_owner.get(group_id) == owner:
                    del self._group_owner[group_id]
        for owner, gs in desired.items():
            if not gs:
                continue
            self._desired_groups[owner] = gs
            for group_id in gs:
                self._group_owner[group_id] = owner

    def _put_desired(self, change: _Update) -> dict[FlowKey, Flow | None]:
        """Record `change` as desired; returns what it replaced, for `_undo_desired`."""
        owner = change.owner
        desired = self._desired.setdefault(owner, {})
        owner_of, counts = self._owner_of, self._table_counts
        undo: dict[FlowKey, Flow | None] = {}
        for key, flow in change.put.items():
            old = desired.get(key)
            undo[key] = old
            if old is None:
                owner_of[key] = owner
                counts[flow.table] += 1
            desired[key] = flow
        for key in change.remove:
            old = desired.pop(key, None)
            if old is not None:
                undo[key] = old
                del owner_of[key]
                counts[old.table] -= 1
        if not desired:
            del self._desired[owner]
        self._update_flow_metrics()
        return undo

    def _undo_desired(self, owner: str, undo: Mapping[FlowKey, Flow | None]) -> None:
        desired = self._desired.setdefault(owner, {})
        for key, old in undo.items():
            current = desired.pop(key, None)
            if current is not None:
                del self._owner_of[key]
                self._table_counts[current.table] -= 1
            if old is not None:
                desired[key] = old
                self._owner_of[key] = owner
                self._table_counts[old.table] += 1
        if not desired:
            del self._desired[owner]
        self._update_flow_metrics()

    def _set_desired(self, desired: Mapping[str, FlowSet | None]) -> None:
        for owner in desired:
            for key, flow in self._desired.pop(owner, {}).items():
                if self._owner_of.get(key) == owner:
                    del self._owner_of[key]
                self._table_counts[flow.table] -= 1
        for owner, flows in desired.items():
            if not flows:
                continue
            self._desired[owner] = flows
            for key, flow in flows.items():
                self._owner_of[key] = owner
                self._table_counts[flow.table] += 1
        self._update_flow_metrics()

    def _update_flow_metrics(self) -> None:
        if self._metrics is not None:
            for table in PIPELINE:
                self._metrics.flows.labels(table=table.name).set(self._table_counts[table.id])

    async def _send(
        self,
        conn: OpenFlowConnection,
        adds: list[Flow],
        modifies: list[Flow],
        deletes: list[Flow],
        groups: _GroupChange | None = None,
    ) -> None:
        groups = groups or _GroupChange()
        if not (adds or modifies or deletes or groups):
            return
        started = time.perf_counter()
        await conn.apply_bundle(
            adds,
            modifies,
            deletes,
            group_adds=groups.adds,
            group_modifies=groups.modifies,
            group_deletes=groups.deletes,
        )
        if self._metrics is not None:
            self._metrics.bundle_seconds.observe(time.perf_counter() - started)

    # -- rounds and inspection -------------------------------------------------------------------

    async def delete_stale_rounds(self) -> list[int]:
        """Delete every flow of another round than this one; returns the rounds deleted."""
        async with self._lock:
            conn = self._require_connection()
            stale = sorted({round_of(c) for c in await conn.flow_cookies()} - {self.cookies.round})
            for old in stale:
                await conn.delete_by_cookie(old << ROUND_SHIFT, ROUND_MASK)
            # Groups nobody wants any more (an earlier agent's), once no flow uses them.
            unwanted = [
                Group(s.group_id) for s in await conn.group_stats() if s.group_id not in self._group_owner
            ]
            if unwanted:
                await conn.apply_bundle(group_deletes=unwanted)
                log.info("deleted %d groups of earlier rounds", len(unwanted))
        if stale:
            log.info("deleted the flows of stale rounds %s", stale)
        return stale

    async def dump_flows(
        self, *, table: int | None = None, cookie: int = 0, cookie_mask: int = 0
    ) -> list[FlowStats]:
        """The flows the switch holds (with counters), of every round unless the cookie and
        its mask select some (`cookies.category_filter`)."""
        async with self._lock:
            conn = self._require_connection()
            if table is None:
                return await conn.dump_flows(cookie=cookie, cookie_mask=cookie_mask)
            return await conn.dump_flows(table=table, cookie=cookie, cookie_mask=cookie_mask)

    def _require_connection(self) -> OpenFlowConnection:
        if self._conn is None:
            raise ConnectionLost(f"no OpenFlow connection to {self.mgmt_socket}")
        return self._conn
