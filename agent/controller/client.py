"""The agent's link to the controller: watch this node's policies, keep them, report realization.

    client = ControllerClient(node_name="node1", target=controller_target(config),
                              ca_file=config.controller_ca_file, token_file=config.controller_token_file,
                              store=policy_store, reporter=reporter, state_dir=config.policy_state_dir)
    task = supervisor.spawn(client.run(), name="controller-client")
    await client.wait_synced()                    # first state: from the controller, or the files
    reporter.report_realized(policy.name, policy.generation)   # (the realizer) once installed

Each connection (`_session`) reads the CA and the token afresh, watches with the node's name,
gathers the initial events until INITIAL_EVENTS_END, then *replaces* the whole state of the
agent's policy store (`agent.policy.store`; objects deleted while the agent was away disappear);
every later stream message is applied to the store as one batch, which tells its listeners (the
rule cache) the typed changes. Any error (the stream breaking, the controller ending a slow
watch, a patch of an unknown group, a listener failing) ends the connection; the client waits
with exponential backoff and watches again, which resyncs.

At start, if the controller has not delivered a state within `fallback_after` seconds, the state
saved under `state_dir` by an earlier run is handed over instead (source FILES), so a restarted
agent enforces the last known policies; the controller's state replaces it once it arrives.

With a `heartbeat` source, the first report of every watch and then at least one report every
`heartbeat_interval` carry the agent's heartbeat (`AgentInfo`: its API address, OVS version,
flows, pods, health, rule traffic), which the controller's dashboard shows. The realizations it
reports are read from the `RealizationReporter` it is given (`agent.controller.reporter`), which
the realizer writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc

from agent.controller.filestore import FileStore
from agent.controller.reporter import RealizationReporter
from agent.controller.saver import StateSaver
from agent.policy.store import InitialEvents, PolicySnapshot, PolicyStore, StateSource
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from proto.controlplane.v1beta1 import controlplane_pb2_grpc as pb_grpc
from pyantrea_api.convert import event_from_proto, report_to_proto
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import InternalNetworkPolicy
from pyantrea_api.reports import AgentInfo
from pyantrea_api.server import SERVER_NAME
from pyantrea_config.agent import AgentConfig

log = logging.getLogger(__name__)

DEFAULT_PORT = 10349


@dataclass(frozen=True, slots=True)
class ClientSettings:
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    fallback_after: float = 5.0
    """Seconds at start before the saved state stands in for the controller's."""
    report_interval: float = 0.5
    """Realization changes are gathered this long into one report."""
    report_timeout: float = 10.0
    save_delay: float = 0.2
    keepalive_seconds: float = 20.0
    """Ping a quiet connection this often; a controller that does not answer is given up."""
    heartbeat_interval: float = 5.0
    """Seconds between heartbeats (with a `heartbeat` source)."""


class HeartbeatSource(Protocol):
    """What the agent says about itself in every heartbeat."""

    async def agent_info(self) -> AgentInfo: ...


class SessionEnded(Exception):
    """The controller closed the watch without an error."""


def controller_target(config: AgentConfig) -> str:
    """Where the controller listens: `controllerAddress`, else the `pyantrea` Service (its
    environment variables in a pod, else its DNS name)."""
    if config.controller_address is not None:
        return str(config.controller_address)
    host = os.environ.get("PYANTREA_SERVICE_HOST")
    port = os.environ.get("PYANTREA_SERVICE_PORT", str(DEFAULT_PORT))
    if host:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{SERVER_NAME}:{DEFAULT_PORT}"


class ControllerClient:
    """Watches the controller for one node; `run` until cancelled."""

    def __init__(
        self,
        *,
        node_name: str,
        target: str,
        ca_file: Path,
        token_file: Path,
        store: PolicyStore,
        state_dir: Path | None,
        settings: ClientSettings | None = None,
        heartbeat: HeartbeatSource | None = None,
        reporter: RealizationReporter | None = None,
    ) -> None:
        self.node_name = node_name
        self._target = target
        self._ca_file = ca_file
        self._token_file = token_file
        self._settings = settings or ClientSettings()
        self._store = store
        self._files = FileStore(state_dir) if state_dir is not None else None
        self._saver = (
            StateSaver(self._files, store, delay=self._settings.save_delay)
            if self._files is not None
            else None
        )
        self._reporter = reporter if reporter is not None else RealizationReporter(node_name)
        self._heartbeat = heartbeat
        self._synced = asyncio.Event()
        self._source: StateSource | None = None
        self._connected = False
        self.resyncs = 0
        """Watches that delivered a state from the controller."""

    @classmethod
    def from_config(
        cls,
        config: AgentConfig,
        *,
        store: PolicyStore,
        reporter: RealizationReporter,
        settings: ClientSettings | None = None,
        heartbeat: HeartbeatSource | None = None,
    ) -> ControllerClient:
        """The client of the agent with `config`: its node, controller, credentials, state files."""
        return cls(
            node_name=config.node_name,
            target=controller_target(config),
            ca_file=config.controller_ca_file,
            token_file=config.controller_token_file,
            store=store,
            reporter=reporter,
            state_dir=config.policy_state_dir,
            settings=settings,
            heartbeat=heartbeat,
        )

    # -- what the agent uses -----------------------------------------------------------------------

    @property
    def settings(self) -> ClientSettings:
        return self._settings

    @property
    def synced(self) -> bool:
        """Whether a first state was handed over (from the controller or the files)."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    @property
    def source(self) -> StateSource | None:
        """Where the current state came from; None before the first."""
        return self._source

    @property
    def connected(self) -> bool:
        """Whether a watch is streaming changes after its initial events."""
        return self._connected

    def snapshot(self) -> PolicySnapshot:
        return self._store.snapshot()

    @property
    def reporter(self) -> RealizationReporter:
        """Where realizations are reported (by the realizer) and read from (by the report loop)."""
        return self._reporter

    async def wait_saved(self) -> None:
        """Until the files hold everything received so far (at once without a state directory)."""
        if self._saver is not None:
            await self._saver.wait_saved()

    # -- running -----------------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            if self._saver is not None:
                tasks.create_task(self._saver.run(), name=f"policy-files-{self.node_name}")
                tasks.create_task(self._fall_back(), name=f"policy-fallback-{self.node_name}")
            await self._watch_forever()

    async def _watch_forever(self) -> None:
        settings = self._settings
        delay = settings.backoff_initial
        while True:
            resyncs = self.resyncs
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as error:
                log.warning("controller watch ended: %s %s", error.code().name, error.details())
            except Exception as error:
                log.warning("controller watch ended: %s: %s", type(error).__name__, error, exc_info=True)
            finally:
                self._connected = False
            if self.resyncs != resyncs:
                delay = settings.backoff_initial
            wait = delay * random.uniform(0.8, 1.2)
            log.info("watching the controller at %s again in %.1fs", self._target, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, settings.backoff_max)

    async def _session(self) -> None:
        ca, token = await asyncio.to_thread(_read_credentials, self._ca_file, self._token_file)
        metadata = (("authorization", f"Bearer {token}"),)
        keepalive_ms = int(self._settings.keepalive_seconds * 1000)
        options = (
            ("grpc.ssl_target_name_override", SERVER_NAME),
            ("grpc.max_receive_message_length", -1),
            ("grpc.keepalive_time_ms", keepalive_ms),
            ("grpc.keepalive_timeout_ms", keepalive_ms // 2),
            # Each client its own connection, also when several run in one process (tests).
            ("grpc.use_local_subchannel_pool", 1),
        )
        credentials = grpc.ssl_channel_credentials(root_certificates=ca)
        async with grpc.aio.secure_channel(self._target, credentials, options=options) as channel:
            stub = pb_grpc.ControlplaneStub(channel)
            call = stub.Watch(pb.WatchRequest(node_name=self.node_name), metadata=metadata)
            initial: InitialEvents | None = InitialEvents()
            reports: asyncio.Task[None] | None = None
            try:
                async for batch in call:
                    events = batch.events
                    if initial is not None:
                        end = _initial_end(events)
                        for message in events[:end]:
                            initial.add(event_from_proto(message))
                        if end == len(events):
                            continue
                        self._replace(initial.snapshot())
                        initial, events = None, events[end + 1 :]
                        reports = asyncio.create_task(
                            self._report(stub, metadata), name=f"policy-reports-{self.node_name}"
                        )
                    if events:
                        self._apply([event_from_proto(message) for message in events])
            finally:
                if reports is not None:
                    reports.cancel()
                    await asyncio.gather(reports, return_exceptions=True)
        raise SessionEnded("the controller closed the watch")

    def _replace(self, state: PolicySnapshot) -> None:
        self._source = StateSource.CONTROLLER
        self._connected = True
        self.resyncs += 1
        self._reporter.retain(state.policies)
        self._reporter.resend_all()
        self._reporter.note_received(state.policies.values())
        if self._saver is not None:
            self._saver.replaced()
        self._store.replace(state, StateSource.CONTROLLER)
        log.info("state from the controller: %d objects (watch %d)", len(self._store), self.resyncs)
        self._synced.set()

    def _apply(self, events: list[NodeEvent]) -> None:
        saver = self._saver
        with self._store.batch() as apply:
            for event in events:
                apply(event)
                if saver is not None:
                    saver.changed(event.kind, event.name)
                if event.kind is ObjectKind.NETWORK_POLICY and event.type is EventType.DELETED:
                    self._reporter.deleted(event.name)
        self._reporter.note_received(e.obj for e in events if isinstance(e.obj, InternalNetworkPolicy))

    async def _report(self, stub: pb_grpc.ControlplaneStub, metadata: tuple[tuple[str, str], ...]) -> None:
        """Send a full report now, then the changes, at most every `report_interval`; a heartbeat
        with the first report and then every `heartbeat_interval`."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        beat_at = loop.time()
        while True:
            beat = self._heartbeat is not None and loop.time() >= beat_at
            if self._reporter.pending or beat:
                report = self._reporter.take()
                if beat:
                    beat_at = loop.time() + settings.heartbeat_interval
                    report = dataclasses.replace(report, agent=await self._agent_info())
                try:
                    await stub.ReportStatus(
                        report_to_proto(report), metadata=metadata, timeout=settings.report_timeout
                    )
                except grpc.aio.AioRpcError as error:
                    log.warning("status report failed: %s %s", error.code().name, error.details())
                    self._reporter.resend_all()
            self._reporter.wanted.clear()
            await asyncio.sleep(settings.report_interval)
            wait = None if self._heartbeat is None else max(0.0, beat_at - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reporter.wanted.wait(), wait)

    async def _agent_info(self) -> AgentInfo | None:
        assert self._heartbeat is not None
        try:
            return await self._heartbeat.agent_info()
        except Exception:
            log.warning("the heartbeat could not be gathered; sending the report without it", exc_info=True)
            return None

    async def _fall_back(self) -> None:
        """At start, hand over the saved state if the controller's does not come in time."""
        assert self._files is not None
        try:
            await asyncio.wait_for(self._synced.wait(), self._settings.fallback_after)
            return
        except TimeoutError:
            pass
        saved = await asyncio.to_thread(self._files.load)
        if self._synced.is_set():
            return
        if saved is None:
            log.info(
                "the controller is not reachable and no policies were saved in %s", self._files.directory
            )
            return
        self._source = StateSource.FILES
        self._reporter.retain(saved.policies)
        log.warning(
            "the controller is not reachable: enforcing the %d policies saved in %s",
            len(saved.policies),
            self._files.directory,
        )
        self._store.replace(saved, StateSource.FILES)
        self._synced.set()


def _initial_end(events: Sequence[pb.Event]) -> int:
    """The index of INITIAL_EVENTS_END among `events`, or their count when it is not there."""
    for index, event in enumerate(events):
        if event.type == pb.INITIAL_EVENTS_END:
            return index
    return len(events)


def _read_credentials(ca_file: Path, token_file: Path) -> tuple[bytes, str]:
    ca = ca_file.read_bytes()
    token = token_file.read_text().strip()
    if not token:
        raise ValueError(f"controllerTokenFile {token_file} is empty")
    return ca, token
