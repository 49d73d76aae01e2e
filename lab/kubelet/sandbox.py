"""Pod sandboxes: a network namespace per pod, attached by the node's CNI plugin.

`create` writes the sandbox's record first (so a kubelet that dies half-way, or `lab down`,
knows the namespace is the lab's), makes the namespace, writes its resolv.conf (lab.kubelet.dns),
and runs CNI ADD; a failure undoes
whatever was done and raises `SandboxFailure` with the plugin's reason. `destroy` ends every
process left in the namespace, runs CNI DEL, deletes the namespace and the record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
from dataclasses import asdict, dataclass
from ipaddress import IPv4Interface
from pathlib import Path

from lab import netns
from lab.kubelet.cni import Attachment, CniFailure, CniRuntime
from lab.kubelet.dns import CLUSTER_FIRST, ClusterDns, resolv_conf, write_resolv_conf
from lab.kubelet.pods import PodView
from lab.layout import pod_netns
from lab.processes import kill_all_in_netns

log = logging.getLogger(__name__)

RECORD = "sandbox.json"


class SandboxFailure(Exception):
    """The sandbox could not be made; `try_again_later` when the plugin asked to be called again."""

    def __init__(self, message: str, *, try_again_later: bool = False) -> None:
        super().__init__(message)
        self.try_again_later = try_again_later


@dataclass(frozen=True, slots=True)
class SandboxRecord:
    namespace: str
    name: str
    uid: str
    netns: str
    container_id: str

    @property
    def attachment(self) -> Attachment:
        return Attachment(
            container_id=self.container_id,
            netns_path=netns.netns_path(self.netns),
            pod_namespace=self.namespace,
            pod_name=self.name,
            pod_uid=self.uid,
        )


def read_records(pods_dir: Path) -> list[SandboxRecord]:
    """Every sandbox recorded under `pods_dir` (a record that cannot be read is skipped)."""
    records = []
    for path in sorted(pods_dir.glob(f"*/{RECORD}")):
        try:
            records.append(SandboxRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError) as exc:
            log.error("ignoring the unreadable sandbox record %s: %s", path, exc)
    return records


class Sandboxes:
    """The sandboxes of one node: records under `pods_dir`, namespaces named with `prefix`."""

    def __init__(
        self, *, pods_dir: Path, prefix: str, cni: CniRuntime, dns: ClusterDns | None = None
    ) -> None:
        self.pods_dir = pods_dir
        self.prefix = prefix
        self.cni = cni
        self.dns = dns
        """The cluster DNS that ClusterFirst pods' resolv.conf names; None: they keep the host's."""

    def directory(self, uid: str) -> Path:
        return self.pods_dir / uid

    async def create(self, pod: PodView) -> tuple[SandboxRecord, IPv4Interface]:
        record = SandboxRecord(
            namespace=pod.namespace,
            name=pod.name,
            uid=pod.uid,
            netns=pod_netns(self.prefix, pod.uid),
            container_id=secrets.token_hex(32),
        )
        directory = self.directory(pod.uid)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / RECORD).write_text(json.dumps(asdict(record)))
        try:
            await asyncio.to_thread(_fresh_netns, record.netns)
            if self.dns is not None and pod.dns_policy in CLUSTER_FIRST:
                await asyncio.to_thread(write_resolv_conf, record.netns, resolv_conf(self.dns, pod.namespace))
            address = await self.cni.add(record.attachment)
        except CniFailure as failure:
            await self.destroy(record)
            raise SandboxFailure(str(failure), try_again_later=failure.try_again_later) from failure
        except BaseException:
            await self.destroy(record)
            raise
        return record, address

    async def destroy(self, record: SandboxRecord) -> None:
        """Tear the sandbox down; a CNI DEL failure is logged (the namespace goes anyway)."""
        if netns.exists(record.netns):
            await asyncio.to_thread(kill_all_in_netns, record.netns)
            try:
                await self.cni.delete(record.attachment)
            except CniFailure as failure:
                log.error("CNI DEL of %s/%s failed: %s", record.namespace, record.name, failure)
            await asyncio.to_thread(netns.delete, record.netns)
        await asyncio.to_thread(shutil.rmtree, self.directory(record.uid), True)


def _fresh_netns(name: str) -> None:
    """Create the pod's namespace; one left over by a sandbox of the same uid is replaced."""
    if netns.exists(name):
        kill_all_in_netns(name)
        netns.delete(name)
    netns.create(name)
