"""The lab kubelet: the pods of one node, from the API to running sandboxes and back.

It registers its Node, watches the pods bound to it (`spec.nodeName`), runs one `PodWorker` per
pod, writes their status, confirms their deletion once stopped, and keeps the Node's Ready
condition. At start it tears down every sandbox a
previous kubelet of this node left behind (their pods are made again from the API).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import urllib3
from kubernetes.client import ApiException

from lab.kubelet.cni import CniRuntime
from lab.kubelet.dns import ClusterDns
from lab.kubelet.images import load_maps
from lab.kubelet.nodestatus import register_node, report_node_status
from lab.kubelet.pods import PodView, trim_pod
from lab.kubelet.programs import ClusterAccess, PodPrograms
from lab.kubelet.sandbox import Sandboxes, read_records
from lab.kubelet.settings import KubeletSettings
from lab.kubelet.worker import PodWorker, WorkerContext
from pyantrea_daemon.tasks import Supervisor
from pyantrea_kube.config import load_api_client
from pyantrea_kube.informer import Informer
from pyantrea_kube.resources import PODS
from pyantrea_kube.rest import PatchType, RestClient

log = logging.getLogger(__name__)


class _PodEvents:
    """Informer handler: every event about a pod wakes (or starts) that pod's worker."""

    def __init__(self, kubelet: Kubelet) -> None:
        self._kubelet = kubelet

    def on_add(self, key: str, obj: PodView) -> None:
        self._kubelet.wake(key)

    def on_update(self, key: str, old: PodView, new: PodView) -> None:
        self._kubelet.wake(key)

    def on_delete(self, key: str, obj: PodView) -> None:
        self._kubelet.wake(key)

    def on_synced(self) -> None:
        log.info("pods of this node listed")


class Kubelet:
    def __init__(self, settings: KubeletSettings, tasks: Supervisor) -> None:
        self.settings = settings
        self._tasks = tasks
        self._api = load_api_client(settings.kubeconfig)
        self._rest = RestClient(self._api)
        self._cni = CniRuntime(Path(settings.cni_conf_dir), [Path(d) for d in settings.cni_bin_dirs])
        dns = ClusterDns(settings.cluster_dns, settings.cluster_domain) if settings.cluster_dns else None
        self._sandboxes = Sandboxes(
            pods_dir=Path(settings.pods_dir), prefix=settings.netns_prefix, cni=self._cni, dns=dns
        )
        self._programs = PodPrograms(
            self._rest,
            load_maps([Path(path) for path in settings.image_maps]),
            ClusterAccess(host=settings.api_host, port=settings.api_port, ca_file=Path(settings.ca_file)),
        )
        self._informer: Informer[PodView] = Informer(
            self._api,
            PODS,
            trim_pod,
            handler=_PodEvents(self),
            field_selector=f"spec.nodeName={settings.node_name}",
            name="pods",
        )
        self._context = WorkerContext(
            sandboxes=self._sandboxes,
            programs=self._programs,
            host_ip=settings.node_ip,
            desired=self._informer.get,
            write_status=self._write_status,
            confirm_deletion=self._confirm_deletion,
        )
        self._workers: dict[str, PodWorker] = {}

    async def start(self) -> None:
        for record in read_records(self._sandboxes.pods_dir):
            log.info(
                "removing the sandbox of %s/%s left by an earlier kubelet", record.namespace, record.name
            )
            await self._sandboxes.destroy(record)
        await register_node(self._rest, self.settings.node_name, self.settings.node_ip)
        self._tasks.spawn(self._informer.run(), name="pod-informer")
        self._tasks.spawn(
            report_node_status(
                self._rest, self.settings.node_name, self._cni, self.settings.agent_health_url
            ),
            name="node-status",
        )

    def close(self) -> None:
        self._api.close()

    def wake(self, key: str) -> None:
        worker = self._workers.get(key)
        if worker is None:
            worker = self._workers[key] = PodWorker(key, self._context)
            task = self._tasks.spawn(worker.run(), name=f"pod {key}", finishable=True)
            task.add_done_callback(lambda _: self._forget(worker))
        worker.wake()

    def _forget(self, worker: PodWorker) -> None:
        if self._workers.get(worker.key) is worker:
            del self._workers[worker.key]

    async def _confirm_deletion(self, pod: PodView) -> bool:
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": pod.uid}}
        try:
            await asyncio.to_thread(self._rest.delete, PODS, pod.namespace, pod.name, body=body)
        except ApiException as exc:
            if exc.status in (404, 409):
                return True  # gone already, or a new pod of that name: its worker hears of it next
            log.warning("cannot delete pod %s: %s %s", pod.key, exc.status, exc.reason)
            return False
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("cannot delete pod %s: %s", pod.key, exc)
            return False
        log.info("pod %s: stopped and deleted", pod.key)
        return True

    async def _write_status(self, pod: PodView, pod_status: dict[str, Any]) -> bool:
        # The uid makes the write a precondition: a pod re-created under the same name is left alone.
        body = {"metadata": {"uid": pod.uid}, "status": pod_status}
        try:
            await asyncio.to_thread(
                self._rest.patch, PODS, pod.namespace, pod.name, body,
                patch_type=PatchType.MERGE, subresource="status",
            )  # fmt: skip
        except ApiException as exc:
            if exc.status in (404, 409):
                return True  # gone or replaced: its worker hears of it next
            log.warning("cannot write the status of pod %s: %s %s", pod.key, exc.status, exc.reason)
            return False
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("cannot write the status of pod %s: %s", pod.key, exc)
            return False
        return True
