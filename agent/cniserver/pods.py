"""A pod's network, end to end: what CNI ADD, DEL and CHECK do on the node.

ADD, in Antrea's order: an address from IPAM and, at the same time, a veth pair whose pod end
is moved into the pod's namespace as CNI_IFNAME; the host end attached to br-int with its flows
(`PodDatapath`); only then the address, default route and gratuitous ARP inside the pod, so the
announcement is not dropped by a bridge that does not know the port yet. Each step registers
its undo first, so a failure at any step (or a cancelled ADD) leaves no address, veth, port or
flow.

DEL undoes the same steps from whatever is left, and missing pieces are success. CHECK
compares the pod's interface, address and attachment with the result of the ADD.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import TypeVar

from agent.cniserver.ipam import HostLocalIpam, IpamCall
from agent.cniserver.naming import host_interface_name
from agent.cniserver.undo import Undo
from agent.pods.api import PodAttachment, PodDatapath, PodInterface
from cni.errors import CniError, ErrorCode
from cni.invocation import Invocation
from cni.netconf import NetworkConfig
from cni.result import Dns, Interface, IPConfig, Result, RouteConfig
from pyantrea_netlink import (
    DEFAULT_ROUTE,
    LinkExistsError,
    LinkInfo,
    NetnsNotFoundError,
    PodNetlink,
    Route,
    VethPair,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class PodNetworkSettings:
    """The node's side of every pod: its gateway (gw0's address) and the default MTU."""

    gateway: IPv4Address
    mtu: int


class PodNetwork:
    """ADD, DEL and CHECK of pod interfaces on this node; calls for one container must not overlap."""

    def __init__(
        self, settings: PodNetworkSettings, *, ipam: HostLocalIpam, netlink: PodNetlink, datapath: PodDatapath
    ) -> None:
        self._settings = settings
        self._ipam = ipam
        self._netlink = netlink
        self._datapath = datapath

    # -- ADD --------------------------------------------------------------------------------

    async def add(self, call: Invocation, config: NetworkConfig) -> Result:
        """Set up the pod's interface; the result, with any previous plugin's result before it."""
        attached = self._datapath.get(call.container_id)
        if attached is not None:
            return await self._readd(attached, call, config)
        netns = Path(call.netns)
        if not netns.exists():
            raise CniError(ErrorCode.UNKNOWN_CONTAINER, f"network namespace {call.netns} does not exist")
        pod = call.pod()
        if pod is None:  # `cni.invocation.validate` insists on a valid pod for ADD
            raise CniError(ErrorCode.INVALID_ENVIRONMENT_VARIABLES, "CNI_ARGS lacks a valid pod")
        pod_namespace, pod_name = pod
        try:
            return await self._add(call, config, netns, pod_namespace, pod_name)
        except CniError as error:
            if error.code == ErrorCode.CONFIG_INTERFACE_FAILURE and not netns.exists():
                gone = f"network namespace {call.netns} disappeared during ADD"
                raise CniError(ErrorCode.UNKNOWN_CONTAINER, gone, error.msg) from error
            raise

    async def _add(
        self, call: Invocation, config: NetworkConfig, netns: Path, pod_namespace: str, pod_name: str
    ) -> Result:
        host_ifname = host_interface_name(pod_namespace, pod_name)
        ipam_call = _ipam_call(call, config)
        gateway = self._settings.gateway
        async with Undo() as undo:
            # The address and the veth do not depend on each other: both are under way at once,
            # as tasks that run to their end even if the ADD is cancelled, and each undo waits for
            # its task first. The release runs whatever the allocation's outcome (host-local may
            # have recorded the address when it fails); the veth is deleted only if this creation
            # made it (a failed creation removes its own remains, and a taken name is not ours).
            allocating = asyncio.ensure_future(self._ipam.allocate(ipam_call))
            undo.push(
                f"release the address of {call.container_id}",
                lambda: self._release_after(allocating, ipam_call),
            )
            creating = asyncio.ensure_future(
                self._netlink.create_veth(
                    host_ifname=host_ifname,
                    netns=netns,
                    ifname=call.ifname,
                    mtu=config.mtu or self._settings.mtu,
                    # The pod's gateway is gw0 in OVS; the node's stack must not answer for it
                    # on the veth (on the userspace datapath it sees the veth's frames too).
                    host_answers_arp=False,
                )
            )
            undo.push(f"delete {host_ifname}", lambda: self._delete_created(creating, host_ifname))
            ip, pair = await _both(
                asyncio.shield(allocating),
                _interface_step(
                    f"create veth {host_ifname} with {call.ifname} in {call.netns}", asyncio.shield(creating)
                ),
            )

            attachment = PodAttachment(
                container_id=call.container_id,
                pod_namespace=pod_namespace,
                pod_name=pod_name,
                host_ifname=host_ifname,
                ifname=call.ifname,
                netns=call.netns,
                ip=ip,
                mac=pair.container.mac,
                gateway=gateway,
                pod_uid=call.pod_uid(),
            )
            undo.push(f"detach {host_ifname}", lambda: self._datapath.detach(call.container_id))
            await _interface_step(f"attach {host_ifname} to the bridge", self._datapath.attach(attachment))

            await _interface_step(
                f"configure {call.ifname} in {call.netns}",
                self._netlink.configure_interface(
                    netns=netns,
                    ifname=call.ifname,
                    addresses=[ip],
                    routes=[Route(DEFAULT_ROUTE, call.ifname, gateway=gateway)],
                ),
            )
        log.info("pod %s/%s: %s %s on %s", pod_namespace, pod_name, call.ifname, ip, host_ifname)
        return _previous(config).then(_result(attachment, pair.host.mac, config.dns))

    async def _release_after(self, allocating: asyncio.Future[IPv4Interface], ipam_call: IpamCall) -> None:
        await asyncio.wait([allocating])
        await self._ipam.release(ipam_call)

    async def _delete_created(self, creating: asyncio.Future[VethPair], host_ifname: str) -> None:
        await asyncio.wait([creating])
        if not creating.cancelled() and creating.exception() is None:
            await self._netlink.delete_link(host_ifname)

    async def _readd(self, attached: PodInterface, call: Invocation, config: NetworkConfig) -> Result:
        """A second ADD for an attached container: the same answer again if nothing changed."""
        attachment = attached.attachment
        if (attachment.ifname, attachment.netns) != (call.ifname, call.netns):
            raise CniError(
                ErrorCode.CONFIG_INTERFACE_FAILURE,
                f"container {call.container_id} already has interface {attachment.ifname} "
                f"in {attachment.netns}",
                "pyantrea gives a container one interface; DEL it before adding another",
            )
        host = await self._verify(attachment, ErrorCode.CONFIG_INTERFACE_FAILURE)
        log.info(
            "pod %s/%s: repeated ADD answered from its attachment",
            attachment.pod_namespace,
            attachment.pod_name,
        )
        return _previous(config).then(_result(attachment, host.mac, config.dns))

    # -- DEL --------------------------------------------------------------------------------

    async def delete(self, call: Invocation, config: NetworkConfig) -> None:
        """Remove the pod's flows, port, veth and address; whatever is already gone is success."""
        pod = call.pod()
        detached = await self.teardown(call.container_id, host_interface_name(*pod) if pod else None)
        await self._ipam.release(_ipam_call(call, config))
        if detached is not None:
            log.info("pod %s/%s: deleted", detached.attachment.pod_namespace, detached.attachment.pod_name)

    async def teardown(self, container_id: str, host_ifname: str | None) -> PodInterface | None:
        """Remove the container's flows and port, and its host veth: the attached one's, else
        `host_ifname`'s (when given); the address stays. Missing pieces are success."""
        detached = await _interface_step(
            f"detach container {container_id}", self._datapath.detach(container_id)
        )
        if detached is not None:
            host_ifname = detached.attachment.host_ifname
        if host_ifname is not None:
            await _interface_step(f"delete {host_ifname}", self._delete_veth(host_ifname))
        return detached

    async def _delete_veth(self, host_ifname: str) -> None:
        # a device of that name that is not a veth was not made by pyantrea: leave it alone
        link = await self._netlink.link(host_ifname)
        if link is not None and link.kind == "veth":
            await self._netlink.delete_link(host_ifname)

    # -- CHECK ------------------------------------------------------------------------------

    async def check(self, call: Invocation, config: NetworkConfig) -> None:
        """Raise `CniError` 103 unless the pod's interface still matches the ADD's result."""
        prev = config.prev_result
        if prev is None:
            raise CniError(ErrorCode.INVALID_NETWORK_CONFIG, "CHECK needs prevResult, the result of the ADD")
        attached = self._datapath.get(call.container_id)
        if attached is None:
            raise _check_failed(f"container {call.container_id} is not attached to the bridge")
        attachment = attached.attachment
        expected = _expected_interface(prev, call)
        ips = {ip.address for ip in prev.ips if ip.interface == expected}
        if attachment.ip not in ips:
            raise _check_failed(f"the attached address {attachment.ip} is not in prevResult")
        if prev.interfaces[expected].mac and prev.interfaces[expected].mac.lower() != attachment.mac.lower():
            raise _check_failed(
                f"{call.ifname} has MAC {attachment.mac}, prevResult says {prev.interfaces[expected].mac}"
            )
        if (attachment.ifname, attachment.netns) != (call.ifname, call.netns):
            raise _check_failed(
                f"container {call.container_id} is attached as {attachment.ifname} in {attachment.netns}"
            )
        await self._verify(attachment, ErrorCode.CHECK_INTERFACE_FAILURE)
        await self._ipam.check(_ipam_call(call, config))

    async def _verify(self, attachment: PodAttachment, code: ErrorCode) -> LinkInfo:
        """The host end, after checking both ends of the veth; a `code` error on a mismatch."""

        def fail(reason: str) -> CniError:
            return CniError(code, reason)

        try:
            pod_link = await self._netlink.link(attachment.ifname, netns=Path(attachment.netns))
        except NetnsNotFoundError:
            raise CniError(
                ErrorCode.UNKNOWN_CONTAINER, f"network namespace {attachment.netns} does not exist"
            ) from None
        if pod_link is None:
            raise fail(f"{attachment.ifname} is missing from {attachment.netns}")
        if pod_link.mac.lower() != attachment.mac.lower():
            raise fail(f"{attachment.ifname} has MAC {pod_link.mac}, attached as {attachment.mac}")
        if attachment.ip not in pod_link.addresses:
            raise fail(f"{attachment.ifname} in {attachment.netns} lacks its address {attachment.ip}")
        host_link = await self._netlink.link(attachment.host_ifname)
        if host_link is None:
            raise fail(f"the host end {attachment.host_ifname} of {attachment.ifname} is missing")
        return host_link


async def _interface_step(what: str, step: Awaitable[T]) -> T:
    """Await one step on interfaces or the bridge; its failure as a CNI error saying which step."""
    try:
        return await step
    except NetnsNotFoundError as exc:
        raise CniError(ErrorCode.UNKNOWN_CONTAINER, f"{what}: {exc}") from exc
    except LinkExistsError as exc:
        raise CniError(ErrorCode.CONFIG_INTERFACE_FAILURE, f"{what}: {exc}") from exc
    except CniError:
        raise
    except Exception as exc:  # netlink's NetworkConfigError, and whatever the datapath raises
        raise CniError(ErrorCode.CONFIG_INTERFACE_FAILURE, f"{what}: {exc}") from exc


async def _both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Both results once both are done; else the first one's failure, whichever finished first."""
    one, two = await asyncio.gather(first, second, return_exceptions=True)
    for outcome in (one, two):
        if isinstance(outcome, BaseException):
            raise outcome
    return one, two  # type: ignore[return-value]


def _ipam_call(call: Invocation, config: NetworkConfig) -> IpamCall:
    return IpamCall(
        network=config.name,
        container_id=call.container_id,
        ifname=call.ifname,
        netns=call.netns,
        cni_path=call.path,
    )


def _previous(config: NetworkConfig) -> Result:
    return config.prev_result if config.prev_result is not None else Result()


def _result(attachment: PodAttachment, host_mac: str, dns: Dns) -> Result:
    gateway = attachment.gateway
    return Result(
        interfaces=(
            Interface(attachment.host_ifname, host_mac),
            Interface(attachment.ifname, attachment.mac, attachment.netns),
        ),
        ips=(IPConfig(attachment.ip, gateway, 1),),
        routes=(RouteConfig(DEFAULT_ROUTE, gateway),),
        dns=dns,
    )


def _expected_interface(prev: Result, call: Invocation) -> int:
    for index, interface in enumerate(prev.interfaces):
        if interface.name == call.ifname and interface.sandbox == call.netns:
            return index
    raise _check_failed(f"prevResult has no interface {call.ifname} in {call.netns}")


def _check_failed(reason: str) -> CniError:
    return CniError(ErrorCode.CHECK_INTERFACE_FAILURE, reason)
