"""What the agent tells the controller about itself in every heartbeat (`AgentInfo`).

Its identity (pyantrea's version, the address of its HTTP API), its node (address, pod subnet,
tunnel type), its datapath (the running ovs-vswitchd's version, the flows it installed per
table, the pods attached) and its health (every readiness check), and the traffic each policy
rule allowed. The API address is the configured bind address, or the node's address when the
agent listens on every address (the DaemonSet runs in the host network, so the controller
reaches it there): `api_address`. It reads the started datapath through narrow interfaces
(`agent.observe.node`), not the whole agent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address, IPv6Address

from agent.observe.appctl import Appctl, AppctlError
from agent.observe.explain import table_name
from agent.observe.node import NodeDatapath, TableCounts
from pyantrea_api.reports import AgentInfo, HealthCheck, RuleTraffic, TableFlows
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.version import version

log = logging.getLogger(__name__)

RuleTrafficSource = Callable[[], Awaitable[tuple[RuleTraffic, ...]]]


def api_address(bind: IPv4Address | IPv6Address, node_ip: IPv4Address, port: int) -> str:
    """host:port where the controller and pyantctl reach this agent's HTTPS API."""
    host = node_ip if bind.is_unspecified else bind
    return f"[{host}]:{port}" if host.version == 6 else f"{host}:{port}"


class AgentHeartbeat:
    """The `HeartbeatSource` of the controller client, for a started datapath."""

    def __init__(
        self,
        node: NodeDatapath,
        *,
        flows: TableCounts,
        readiness: Readiness,
        appctl: Appctl,
        api_address: str,
        api_ca: str,
        rule_traffic: RuleTrafficSource,
    ) -> None:
        self._node = node
        self._flows = flows
        self._readiness = readiness
        self._appctl = appctl
        self._api_address = api_address
        self._api_ca = api_ca
        self._rule_traffic = rule_traffic
        self._ovs_version = ""

    async def agent_info(self) -> AgentInfo:
        local = self._node.local
        flows = tuple(
            TableFlows(table, table_name(table), n) for table, n in self._flows.table_counts().items()
        )
        checks = tuple(HealthCheck(name, failure) for name, failure in self._readiness.evaluate().items())
        return AgentInfo(
            version=version(),
            api_address=self._api_address,
            ovs_version=await self._vswitchd_version(),
            node_ip=str(local.node_ip),
            pod_cidr=str(local.subnet),
            tunnel_type=self._node.tunnel_type,
            pods=len(self._node.interfaces()),
            flows=flows,
            checks=checks,
            rules=await self._rule_traffic(),
            api_ca=self._api_ca,
        )

    async def _vswitchd_version(self) -> str:
        """Asked once; an ovs-vswitchd that does not answer now is asked again next time."""
        if not self._ovs_version:
            try:
                self._ovs_version = await self._appctl.version()
            except AppctlError as error:
                log.warning("the version of ovs-vswitchd is unknown: %s", error)
        return self._ovs_version
