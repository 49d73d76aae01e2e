"""The policy realizer: keeps the switch's policy flows following the policy store.

One task (`run`) takes what the cache marked dirty, has the reconciler turn it into a flow
change, and sends that as ONE atomic bundle through the `FlowClient` (owner `networkpolicy`,
updated in place, so a change costs what it touches); changes that arrive meanwhile make the
next batch. After each batch it reports, per policy touched, the generation now installed (or
the failure) to the controller. `flushed()` waits until every change made before the call is
installed: the start-up gate waits on it, and so does a CNI ADD whose pod some rule selects.

If Open vSwitch refuses a bundle, nothing of it was applied but the reconciler has moved on:
the realizer starts over with a fresh reconciler computing every flow from the store and one
`sync` of the whole owner, retried with backoff until it goes through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from agent.openflow.client import FlowClient, FlowsNotInstalledError
from agent.openflow.cookies import Category, category_filter
from agent.pods.api import PodInterface
from agent.policy.allocator import DEFAULT_REUSE_DELAY, ConjIdAllocator
from agent.policy.cache import LocalPod, RuleCache
from agent.policy.dirty import Dirty
from agent.policy.reconciler import Reconciler
from agent.policy.stats import RuleStats, rule_stats
from agent.policy.store import PolicyStore
from fastpath.connection import BundleError

log = logging.getLogger(__name__)

OWNER = "networkpolicy"
"""The FlowClient owner of every policy flow."""
POD_WAIT_SECONDS = 10.0
"""How long a CNI call waits for the policy flows of its pod before going on without."""


class Realization(NamedTuple):
    """A policy's generation and whether every rule of it could be realized."""

    generation: int
    complete: bool


class RealizationSink(Protocol):
    """Where realization goes: the controller client's `RealizationReporter`."""

    def report_realized(self, policy_name: str, generation: int, error: str | None = None) -> None: ...


class PolicyRealizer:
    """The task realizing the policy store's rules, through its rule cache (`cache`, a listener
    of `store`); what is installed is reported to `reporter`."""

    def __init__(
        self,
        flows: FlowClient,
        store: PolicyStore,
        *,
        reporter: RealizationSink | None = None,
        reuse_delay: float = DEFAULT_REUSE_DELAY,
        retry: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self._flows = flows
        self._wake = asyncio.Event()
        self.store = store
        self.cache = RuleCache(store, on_change=self._wake.set)
        self._allocator = ConjIdAllocator(reuse_delay=reuse_delay)
        self._reconciler = Reconciler(self.cache, flows.cookies, self._allocator)
        self._sink = reporter
        self._reconciled: dict[str, Realization] = {}
        """What the reconciler has computed of each policy (installed unless diverged)."""
        self._retry = retry
        self._diverged = False
        self._done_version = 0
        self._done = asyncio.Condition()
        self.batches = 0
        """Bundles installed (batches that changed no flow send none)."""
        self.flow_mods = 0
        """Flows put or removed by those batches (a resync counts the flows it holds)."""

    @property
    def reconciler(self) -> Reconciler:
        return self._reconciler

    # -- running -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Realize changes as they come; runs until cancelled."""
        self._flows.add_replay_listener(self._after_replay)
        delay = self._retry[0]
        while True:
            await self._wake.wait()
            self._wake.clear()
            if await self._realize():
                delay = self._retry[0]
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry[1])
                self._wake.set()

    async def flushed(self) -> None:
        """Until every change made before this call is installed (or has failed)."""
        target = self.cache.version
        async with self._done:
            await self._done.wait_for(lambda: self._done_version >= target)

    async def _realize(self) -> bool:
        """One batch; whether the switch took it."""
        version = self.cache.version
        dirty = self.cache.take_dirty()
        if self._diverged:
            installed = await self._resync()
        else:
            installed = await self._install(dirty)
        async with self._done:
            self._done_version = version
            self._done.notify_all()
        return installed

    async def _install(self, dirty: Dirty) -> bool:
        policies = self._batch_policies(dirty)
        change = self._reconciler.reconcile(dirty)
        if not change:
            self._report(policies, None)
            return True
        try:
            await self._flows.update(OWNER, put=change.put, remove=change.remove)
        except BundleError as error:
            log.error("Open vSwitch refused the policy flows (%s); installing them all anew", error)
            self._report(policies, f"Open vSwitch refused the flows: {error}")
            self._diverged = True
            return False
        except FlowsNotInstalledError as error:
            log.warning("policy flows recorded, not yet installed: %s", error)
            return True
        self.batches += 1
        self.flow_mods += len(change.put) + len(change.remove)
        self._report(policies, None)
        return True

    async def _resync(self) -> bool:
        """A fresh reconciler computes every flow from the store; one sync installs them."""
        self._reconciler.release_all()
        self._reconciler = Reconciler(self.cache, self._flows.cookies, self._allocator)
        self.cache.take_dirty()
        everything = Dirty(rules=set(self.store.rules()), policies=set(self.store.policies))
        self._reconciled = {}
        policies = self._snapshot(everything.policies)
        self._reconciler.reconcile(everything)
        flows = self._reconciler.all_flows()
        try:
            await self._flows.sync(OWNER, flows)
        except BundleError as error:
            log.error("Open vSwitch refused the policy flows again (%s); retrying", error)
            self._report(policies, f"Open vSwitch refused the flows: {error}")
            return False
        except FlowsNotInstalledError as error:
            log.warning("policy flows recorded, not yet installed: %s", error)
        self._diverged = False
        self.batches += 1
        self.flow_mods += len(flows)
        self._report(policies, None)
        log.info("policy flows installed anew: %s", self._reconciler.flows.counts())
        return True

    async def _after_replay(self) -> None:
        """Open vSwitch came back with every flow recorded: the policies reconciled are realized."""
        if not self._diverged:
            self._report(dict(self._reconciled), None)

    # -- realization reports -----------------------------------------------------------------------

    def _snapshot(self, names: Iterable[str]) -> dict[str, Realization]:
        """Each named policy's generation and whether all its rules are realizable, as the
        batch being computed sees them (later events must not change what it reports); also
        what `_after_replay` reports."""
        store, snapshot = self.store, {}
        for name in names:
            policy = store.policy(name)
            if policy is None:
                continue
            complete = all(store.realizable(rule) for rule in store.policy_rules(name))
            snapshot[name] = self._reconciled[name] = Realization(policy.generation, complete)
        return snapshot

    def _batch_policies(self, dirty: Dirty) -> dict[str, Realization]:
        for name in dirty.deleted:
            self._reconciled.pop(name, None)
        names = set(dirty.policies)
        for rule_id in dirty.rules | dirty.addresses.keys():
            rule = self.store.rule(rule_id)
            if rule is not None:
                names.add(rule.policy)
        return self._snapshot(names)

    def _report(self, policies: Mapping[str, Realization], error: str | None) -> None:
        sink = self._sink
        if sink is None:
            return
        for name, realization in policies.items():
            if error is not None:
                sink.report_realized(name, realization.generation, error)
            elif realization.complete:
                sink.report_realized(name, realization.generation)

    # -- local pods (agent.pods.api.PodListener) ---------------------------------------------------

    def add_pod(self, interface: PodInterface) -> None:
        attachment = interface.attachment
        pod = LocalPod(attachment.container_id, interface.ofport, int(attachment.ip.ip))
        self.cache.set_local_pod((attachment.pod_namespace, attachment.pod_name), pod)

    async def pod_attached(self, interface: PodInterface) -> None:
        self.add_pod(interface)
        await self._wait_for_pod_flows(interface)

    async def pod_detached(self, interface: PodInterface) -> None:
        attachment = interface.attachment
        key = (attachment.pod_namespace, attachment.pod_name)
        self.cache.remove_local_pod(key, attachment.container_id)
        await self._wait_for_pod_flows(interface)

    async def _wait_for_pod_flows(self, interface: PodInterface) -> None:
        try:
            async with asyncio.timeout(POD_WAIT_SECONDS):
                await self.flushed()
        except TimeoutError:
            attachment = interface.attachment
            log.warning(
                "policy flows of pod %s/%s not installed after %gs",
                attachment.pod_namespace,
                attachment.pod_name,
                POD_WAIT_SECONDS,
            )

    # -- statistics --------------------------------------------------------------------------------

    async def rule_stats(self) -> list[RuleStats]:
        """Every rule's packet and byte counters, from its conjunctions' metric flows."""
        cookie, mask = category_filter(self._flows.cookies, Category.POLICY_METRIC)
        dumped = await self._flows.dump_flows(cookie=cookie, cookie_mask=mask)
        return rule_stats(dumped, self.store, self._reconciler)
