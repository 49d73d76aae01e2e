"""`OvsPodDatapath`: the `PodDatapath` on br-int (ports over OVSDB, flows through the client).

Attaching a pod adds the host end of its veth to br-int with the pod recorded in the
interface's external_ids, waits for the OpenFlow port number, turns off TX checksum offload in
the pod on the userspace datapath (see `pyantrea_netlink.offload`), installs the pod's flows in one
bundle and records the pod in the interface store. Every step has an undo: a failure leaves no
port and no flows. Detaching removes the flows, then the port. `restore()` rebuilds the store
from OVSDB after a restart and reinstalls every pod's flows in one bundle; `pod_ports()` reads
every pod port OVSDB records, also one `restore()` could not take back. Listeners
(`add_listener`, the policy agent) hear of each attach and detach once it is done; their
failures are logged, never undo it.
"""

from __future__ import annotations

import asyncio
import logging
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from agent.openflow.client import FlowClient
from agent.openflow.features import PodPort, pod_flows
from agent.pods.api import PodAttachment, PodInterface, PodListener, RecordedPort
from agent.pods.portids import CONTAINER_ID, PodPortIds
from agent.pods.store import InterfaceStore
from fastpath import Flow
from pyantrea_netlink.offload import disable_tx_checksum_in
from pyantrea_ovsdb import AddSystemPort, DeletePort, FindPorts, ListPorts, Ovsdb

log = logging.getLogger(__name__)


class PodAttachError(RuntimeError):
    """A pod could not be attached; nothing of the attempt is left behind."""


def flow_owner(container_id: str) -> str:
    """The FlowClient owner of a pod's flows."""
    return f"pod/{container_id}"


class OvsPodDatapath:
    """Implements `agent.pods.api.PodDatapath`.

    `gateway` is the node's gw0 address in the pod subnet (pods restored from OVSDB get its
    prefix and address as theirs), `gateway_mac` its MAC; `userspace` says the bridge runs on
    the userspace (netdev) datapath.
    """

    def __init__(
        self,
        *,
        ovsdb: Ovsdb,
        flows: FlowClient,
        bridge: str,
        gateway: IPv4Interface,
        gateway_mac: str,
        userspace: bool,
    ) -> None:
        self._ovsdb = ovsdb
        self._flows = flows
        self._bridge = bridge
        self._gateway = gateway
        self._gateway_mac = gateway_mac
        self._userspace = userspace
        self._store = InterfaceStore()
        self._locks: dict[str, asyncio.Lock] = {}
        self._listeners: list[PodListener] = []

    def add_listener(self, listener: PodListener) -> None:
        """Tell `listener` of every later attach and detach."""
        self._listeners.append(listener)

    # -- PodDatapath ---------------------------------------------------------------------------

    async def attach(self, attachment: PodAttachment) -> PodInterface:
        async with self._lock(attachment.container_id):
            existing = self._store.get(attachment.container_id)
            if existing is not None:
                if existing.attachment == attachment:
                    return existing
                raise PodAttachError(
                    f"container {attachment.container_id} is already attached as "
                    f"{existing.attachment.host_ifname} ({existing.attachment.ip}); detach it first"
                )
            return await self._attach(attachment)

    async def detach(self, container_id: str) -> PodInterface | None:
        async with self._lock(container_id):
            interface = self._store.get(container_id)
            await self._flows.remove(flow_owner(container_id))
            if interface is not None:
                await self._ovsdb.execute(DeletePort(interface.attachment.host_ifname, self._bridge))
            else:
                # A port left by an attach that died half-way (the agent crashed), or one that
                # `restore()` could not take back (its device is gone), has no entry.
                for port in await self._ovsdb.execute(FindPorts(CONTAINER_ID, container_id, self._bridge)):
                    await self._ovsdb.execute(DeletePort(port.name, self._bridge))
            self._store.remove(container_id)
            self._locks.pop(container_id, None)
        if interface is not None:
            for listener in self._listeners:
                try:
                    await listener.pod_detached(interface)
                except Exception:
                    log.exception("pod listener %r failed on detach of %s", listener, container_id)
        return interface

    def get(self, container_id: str) -> PodInterface | None:
        return self._store.get(container_id)

    def interfaces(self) -> list[PodInterface]:
        return self._store.all()

    # -- restart -------------------------------------------------------------------------------

    async def restore(self) -> list[PodInterface]:
        """Rebuild the store from br-int's ports and install every pod's flows in one bundle."""
        restored = []
        for port in await self._ovsdb.execute(ListPorts(self._bridge)):
            try:
                ids = PodPortIds.from_external_ids(port.external_ids)
                if ids is None:
                    continue
                if port.ofport is None or port.ofport < 0:
                    raise ValueError(f"it has no OpenFlow port ({port.error})")
                restored.append(PodInterface(self._attachment_from(port.name, ids), port.ofport))
            except ValueError as exc:
                log.error("pod port %s is not restored: %s", port.name, exc)
        changes = {flow_owner(i.attachment.container_id): self._flows_of(i) for i in restored}
        await self._flows.sync_many(changes)
        for interface in restored:
            self._store.add(interface)
        log.info("restored %d pod interfaces from OVSDB", len(restored))
        return restored

    async def pod_ports(self) -> list[RecordedPort]:
        """Every pod port on the bridge, also one whose device is gone (its ofport is -1 then)."""
        recorded = []
        for port in await self._ovsdb.execute(ListPorts(self._bridge)):
            try:
                ids = PodPortIds.from_external_ids(port.external_ids)
            except ValueError as exc:
                log.error("pod port %s has unreadable external_ids: %s", port.name, exc)
                continue
            if ids is not None:
                recorded.append(
                    RecordedPort(
                        port=port.name,
                        container_id=ids.container_id,
                        pod_namespace=ids.pod_namespace,
                        pod_name=ids.pod_name,
                        pod_uid=ids.pod_uid,
                        ips=ids.ips,
                    )
                )
        return recorded

    # -- internals -----------------------------------------------------------------------------

    def _lock(self, container_id: str) -> asyncio.Lock:
        return self._locks.setdefault(container_id, asyncio.Lock())

    async def _attach(self, attachment: PodAttachment) -> PodInterface:
        port = attachment.host_ifname
        ids = PodPortIds(
            container_id=attachment.container_id,
            pod_name=attachment.pod_name,
            pod_namespace=attachment.pod_namespace,
            ips=(attachment.ip.ip,),
            mac=attachment.mac,
            if_dev=attachment.ifname,
            netns=attachment.netns,
            pod_uid=attachment.pod_uid,
        )
        await self._ovsdb.execute(AddSystemPort(self._bridge, port, external_ids=ids.to_external_ids()))
        try:
            ofport = await self._ovsdb.wait_for_ofport(port)
            if self._userspace:
                await disable_tx_checksum_in(Path(attachment.netns), attachment.ifname)
            interface = PodInterface(attachment, ofport)
            await self._flows.sync(flow_owner(attachment.container_id), self._flows_of(interface))
        except BaseException as exc:
            await asyncio.shield(self._undo_attach(attachment))
            if isinstance(exc, Exception):
                raise PodAttachError(f"attach {port} of pod {_pod(attachment)}: {exc}") from exc
            raise
        self._store.add(interface)
        log.info("attached pod %s on port %s (ofport %d)", _pod(attachment), port, ofport)
        for listener in self._listeners:
            try:
                await listener.pod_attached(interface)
            except Exception:
                log.exception("pod listener %r failed on attach of %s", listener, _pod(attachment))
        return interface

    async def _undo_attach(self, attachment: PodAttachment) -> None:
        try:
            await self._flows.remove(flow_owner(attachment.container_id))
        finally:
            await self._ovsdb.execute(DeletePort(attachment.host_ifname, self._bridge))

    def _flows_of(self, interface: PodInterface) -> list[Flow]:
        attachment = interface.attachment
        port = PodPort(interface.ofport, attachment.ip.ip, attachment.mac)
        return pod_flows(port, self._gateway_mac, self._flows.cookies)

    def _attachment_from(self, port_name: str, ids: PodPortIds) -> PodAttachment:
        ip = next((ip for ip in ids.ips if isinstance(ip, IPv4Address)), None)
        if ip is None:
            raise ValueError(f"its external_ids record no IPv4 address ({ids.ips})")
        return PodAttachment(
            container_id=ids.container_id,
            pod_namespace=ids.pod_namespace,
            pod_name=ids.pod_name,
            host_ifname=port_name,
            ifname=ids.if_dev,
            netns=ids.netns,
            ip=IPv4Interface(f"{ip}/{self._gateway.network.prefixlen}"),
            mac=ids.mac,
            gateway=self._gateway.ip,
            pod_uid=ids.pod_uid,
        )


def _pod(attachment: PodAttachment) -> str:
    return f"{attachment.pod_namespace}/{attachment.pod_name}"
