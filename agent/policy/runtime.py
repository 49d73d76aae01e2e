"""The agent's NetworkPolicy side at run time: the controller client and the realizer as tasks,
and the start-up sequence that opens pod networking.

The agent's composition (`agent.main`) makes the parts in order and hands them over:

    store, reporter = PolicyStore(), RealizationReporter(node)
    realizer = PolicyRealizer(datapath.flows, store, reporter=reporter)
    client = ControllerClient.from_config(config, store=store, reporter=reporter)
    policies = PolicyRuntime(realizer=realizer, client=client, pods=datapath.pods,
                             converged=gate, state_dir=config.policy_state_dir)
    async with policies:
        await policies.wait_initial()                # the initial policies are installed
        cni_gate.open()                              # only now may pods get networking
        await policies.wait()                        # until a task fails

Start-up follows Antrea: the controller client watches (or, when the controller does not
answer in time, hands over the policies an earlier run saved); the realizer installs that
initial set in one bundle; only then does pod networking open and may the agent delete the
previous run's flows. A node that never saved any policy and cannot reach the controller opens
with none (there is nothing it knew to enforce), and installs them once the controller answers.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from agent.controller.client import ControllerClient
from agent.controller.filestore import DIRECTORIES
from agent.pods.api import PodInterfaces, PodListener
from agent.policy.realizer import PolicyRealizer
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.service import Service
from pyantrea_daemon.tasks import first_of

log = logging.getLogger(__name__)

CONVERGENCE_GATE = "networkpolicy"
# After the client's fallback deadline, how long it may take to load the saved files.
_FALLBACK_GRACE = 1.0
_SAVE_ON_STOP = 2.0


class PodSource(PodInterfaces, Protocol):
    """The pod datapath, as the realizer follows it: the pods attached now, and those to come."""

    def add_listener(self, listener: PodListener) -> None: ...


def add_readiness_check(readiness: Readiness, converged: asyncio.Event) -> None:
    """Not ready until the initial policies are installed (`converged`, the agent's gate)."""
    readiness.add_check(
        "networkpolicy", lambda: None if converged.is_set() else "installing the initial NetworkPolicies"
    )


class PolicyRuntime(Service):
    """Runs the controller client and the policy realizer on a started datapath; sets `converged`
    (the agent's convergence gate for its stale flows) once the initial policies are installed."""

    def __init__(
        self,
        *,
        realizer: PolicyRealizer,
        client: ControllerClient,
        pods: PodSource,
        converged: asyncio.Event,
        state_dir: Path,
    ) -> None:
        super().__init__(logger=log)
        self.realizer = realizer
        self.client = client
        self._pods = pods
        self._converged = converged
        self._state_dir = state_dir
        self._running = False

    async def _start(self) -> None:
        """Start realizing the pods attached now and later, and watching the controller."""
        realizer = self.realizer
        for interface in self._pods.interfaces():
            realizer.add_pod(interface)
        self._pods.add_listener(realizer)
        self._tasks.spawn(realizer.run(), name="policy-realizer")
        self._tasks.spawn(self.client.run(), name="controller-client")
        self._running = True

    async def stop(self) -> None:
        """Stop; first the saved files catch up with what the controller sent (briefly)."""
        if self._running:
            try:
                async with asyncio.timeout(_SAVE_ON_STOP):
                    await self.client.wait_saved()
            except TimeoutError:
                log.warning("the policy files may miss the last changes: saving took over %gs", _SAVE_ON_STOP)
        await super().stop()

    async def wait_initial(self) -> None:
        """Until the initial policies are installed; then the previous run's flows may go."""
        await first_of(self._initial(), self._tasks.wait())
        self._converged.set()

    async def _initial(self) -> None:
        client = self.client
        deadline = client.settings.fallback_after + _FALLBACK_GRACE
        try:
            await asyncio.wait_for(client.wait_synced(), deadline)
        except TimeoutError:
            if await asyncio.to_thread(_nothing_saved, self._state_dir):
                log.warning(
                    "the controller is not reachable and no policies were saved: pod networking "
                    "opens with none; they are installed once the controller answers"
                )
                return
            log.info("waiting for the controller or the saved policies")
            await client.wait_synced()
        await self.realizer.flushed()
        log.info(
            "initial policies installed from the %s: %s",
            client.source.value if client.source else "controller",
            self.realizer.reconciler.flows.counts(),
        )


def _nothing_saved(state_dir: Path) -> bool:
    """Whether no earlier run saved any object under `state_dir`."""
    for folder in DIRECTORIES.values():
        path = state_dir / folder
        if path.is_dir() and any(not entry.name.startswith(".") for entry in path.iterdir()):
            return False
    return True
