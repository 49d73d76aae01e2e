"""The lab's controller manager: the scheduler and the Deployment controller on shared informers.

    pods, nodes, deployments (informers) ──▶ handlers ──▶ work queues ──▶ one loop per controller

The scheduler binds each pod without `spec.nodeName` to the node `choose_node` picks (a merge
patch of spec.nodeName, conditional on the pod's uid: the stand-in has no `binding`
subresource), and remembers the choice until its informer sees it. The Deployment controller
creates and deletes pods to match each Deployment (lab.controllers.deployments), remembers the
creations and deletions its informer has not seen yet (upstream's "expectations", so a burst of
events never makes a pod twice), writes the Deployment's status, and deletes the pods of a
Deployment that is gone (the garbage collector's part).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import urllib3
from kubernetes.client import ApiClient, ApiException

from daemon.tasks import Supervisor
from kube.informer import Informer
from kube.resources import NODES, PODS
from kube.rest import PatchType, RestClient
from lab.controllers import deployments
from lab.controllers.objects import (
    DeploymentView,
    NodeView,
    PodView,
    canonical,
    trim_deployment,
    trim_node,
    trim_pod,
)
from lab.controllers.scheduler import NoNodeAvailable, choose_node
from lab.kinds import DEPLOYMENTS
from lab.workqueue import WorkQueue

log = logging.getLogger(__name__)

T = TypeVar("T")
_RETRY_SECONDS = 1.0
_API_FAILURES = (ApiException, urllib3.exceptions.HTTPError, OSError)


class _Handler(Generic[T]):
    """Informer handler that passes (old, new) of every change to one callback."""

    def __init__(self, changed: Callable[[T | None, T | None], None]) -> None:
        self._changed = changed

    def on_add(self, key: str, obj: T) -> None:
        self._changed(None, obj)

    def on_update(self, key: str, old: T, new: T) -> None:
        self._changed(old, new)

    def on_delete(self, key: str, obj: T) -> None:
        self._changed(obj, None)

    def on_synced(self) -> None:
        return


class Controllers:
    def __init__(self, api: ApiClient, tasks: Supervisor) -> None:
        self._rest = RestClient(api)
        self._tasks = tasks
        self.pods: Informer[PodView] = Informer(api, PODS, trim_pod, handler=_Handler(self._pod_changed))
        self.nodes: Informer[NodeView] = Informer(api, NODES, trim_node, handler=_Handler(self._node_changed))
        self.deployments: Informer[DeploymentView] = Informer(
            api, DEPLOYMENTS, trim_deployment, handler=_Handler(self._deployment_changed)
        )
        self._to_schedule: WorkQueue[str] = WorkQueue()
        self._unschedulable: set[str] = set()
        self._assumed: dict[str, str] = {}
        """Pod key -> node chosen, until the pod informer shows the binding."""
        self._to_sync: WorkQueue[str] = WorkQueue()
        """Deployment uids."""
        self._deployment_keys: dict[str, str] = {}
        self._pending_creates: dict[str, set[str]] = {}
        self._pending_deletes: set[str] = set()

    async def start(self) -> None:
        for informer in (self.pods, self.nodes, self.deployments):
            self._tasks.spawn(informer.run(), name=f"informer-{informer.name}")
        for informer in (self.pods, self.nodes, self.deployments):
            await informer.wait_synced()
        # Pods whose Deployment went away while nobody watched are garbage now.
        for pod in self.pods.store.values():
            if pod.owner_uid and pod.owner_uid not in self._deployment_keys:
                self._to_sync.add(pod.owner_uid)
        self._tasks.spawn(self._schedule_loop(), name="scheduler")
        self._tasks.spawn(self._deployment_loop(), name="deployment-controller")

    # -- events ------------------------------------------------------------------------------

    def _pod_changed(self, old: PodView | None, new: PodView | None) -> None:
        pod = new or old
        assert pod is not None
        if new is None or new.node_name:
            self._assumed.pop(pod.key, None)
        if new is not None and not new.node_name:
            self._to_schedule.add(new.key)
        if new is None:
            self._pending_deletes.discard(pod.key)
        if pod.owner_uid:
            if new is not None and old is None:
                self._pending_creates.get(pod.owner_uid, set()).discard(pod.name)
            self._to_sync.add(pod.owner_uid)

    def _node_changed(self, old: NodeView | None, new: NodeView | None) -> None:
        for key in self._unschedulable:
            self._to_schedule.add(key)
        self._unschedulable.clear()

    def _deployment_changed(self, old: DeploymentView | None, new: DeploymentView | None) -> None:
        if new is not None:
            self._deployment_keys[new.uid] = new.key
            self._to_sync.add(new.uid)
        if old is not None and (new is None or new.uid != old.uid):
            self._deployment_keys.pop(old.uid, None)
            self._to_sync.add(old.uid)

    # -- scheduler ---------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            key = await self._to_schedule.get()
            pod = self.pods.get(key)
            if pod is None or pod.node_name or key in self._assumed:
                continue
            placed = [p for p in self.pods.store.values() if p.node_name]
            placed += [
                _on(self.pods.store[k], node) for k, node in self._assumed.items() if k in self.pods.store
            ]
            try:
                node = choose_node(pod, self.nodes.store.values(), placed)
            except NoNodeAvailable as why:
                log.info("pod %s waits: %s", key, why)
                self._unschedulable.add(key)
                continue
            body = {"metadata": {"uid": pod.uid}, "spec": {"nodeName": node}}
            bound = await self._write(
                f"bind pod {key} to {node}", self._rest.patch, PODS, pod.namespace, pod.name, body,
                patch_type=PatchType.MERGE,
            )  # fmt: skip
            if bound is not None:
                self._assumed[key] = node
                log.info("pod %s bound to %s", key, node)
            elif self.pods.get(key) is not None:
                self._to_schedule.add_later(key, _RETRY_SECONDS)

    # -- deployments -------------------------------------------------------------------------

    async def _deployment_loop(self) -> None:
        while True:
            uid = await self._to_sync.get()
            if not await self._sync(uid):
                self._to_sync.add_later(uid, _RETRY_SECONDS)

    async def _sync(self, uid: str) -> bool:
        """Bring the Deployment `uid`'s pods in line; False when an API call failed (retry)."""
        key = self._deployment_keys.get(uid)
        deployment = self.deployments.get(key) if key else None
        owned = [
            pod
            for pod in self.pods.store.values()
            if pod.owner_uid == uid and pod.key not in self._pending_deletes
        ]
        if deployment is None or deployment.uid != uid:
            self._pending_creates.pop(uid, None)
            return await self._delete_pods(owned)
        pending = self._pending_creates.setdefault(uid, set())
        plan = deployments.plan(deployment, owned, len(pending))
        doomed = set(plan.delete)
        ok = await self._delete_pods([pod for pod in owned if pod.name in doomed])
        pod_hash = deployments.template_hash(deployment.template)
        for _ in range(plan.create):
            created = await self._write(
                f"create a pod of deployment {key}", self._rest.create, PODS, deployment.namespace,
                deployments.pod_body(deployment, pod_hash),
            )  # fmt: skip
            if created is None:
                ok = False
                break
            name = created["metadata"]["name"]
            if f"{deployment.namespace}/{name}" not in self.pods.store:  # else its event came first
                pending.add(name)
            log.info("deployment %s: created pod %s", key, created["metadata"]["name"])
        remaining = [pod for pod in owned if pod.name not in doomed]
        wanted = deployments.status(deployment, remaining, len(pending))
        if canonical(wanted) != deployment.status:
            body = {"metadata": {"uid": uid}, "status": wanted}
            written = await self._write(
                f"write the status of deployment {key}", self._rest.patch, DEPLOYMENTS, deployment.namespace,
                deployment.name, body, patch_type=PatchType.MERGE, subresource="status",
            )  # fmt: skip
            ok = ok and written is not None
        return ok

    async def _delete_pods(self, pods: list[PodView]) -> bool:
        ok = True
        for pod in pods:
            done = await self._write(
                f"delete pod {pod.key}", self._rest.delete, PODS, pod.namespace, pod.name, gone_is_done=True
            )
            if done is None:
                ok = False
            else:
                if pod.key in self.pods.store:  # else its event came first
                    self._pending_deletes.add(pod.key)
                log.info("deleted pod %s", pod.key)
        return ok

    async def _write(
        self,
        what: str,
        call: Callable[..., dict[str, Any]],
        *args: Any,
        gone_is_done: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """The API's answer, or None when the call failed (with `gone_is_done`, 404 is an answer)."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except ApiException as exc:
            if exc.status == 404 and gone_is_done:
                return {}
            if exc.status in (404, 409):
                log.info("cannot %s: %s (the object is gone or was replaced)", what, exc.reason)
            else:
                log.warning("cannot %s: %s %s", what, exc.status, exc.reason)
        except _API_FAILURES as exc:
            log.warning("cannot %s: %s", what, exc)
        return None


def _on(pod: PodView, node: str) -> PodView:
    return PodView(pod.namespace, pod.name, pod.uid, node, pod.owner_uid, pod.template_hash, pod.ready)
