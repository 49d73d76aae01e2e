"""What an agent reports, values shared by agent and controller: the policies it enforces
(realizations) and, as its heartbeat, how it is doing (`AgentInfo`)."""

from __future__ import annotations

from pyantrea_api.values import value


@value
class Realization:
    """One policy on one node: the generation installed, or the one that failed and why."""

    policy_name: str
    """The internal policy's name (the Kubernetes policy's UID)."""
    generation: int
    error: str | None


@value
class HealthCheck:
    """One readiness check of the agent; `failure` None when it passes."""

    name: str
    failure: str | None


@value
class TableFlows:
    """Flows the agent has installed in one pipeline table."""

    table: int
    name: str
    flows: int


@value
class RuleTraffic:
    """One rule's traffic on one node: the counters of its conjunctions' metric flows (every
    packet of the connections the rule allowed)."""

    policy_name: str
    """The internal policy's name (the Kubernetes policy's UID)."""
    rule_index: int
    """The rule's position in the internal policy's rules."""
    packets: int
    bytes: int


@value
class AgentInfo:
    """An agent's heartbeat: who it is, where its API is, what its datapath holds."""

    version: str
    api_address: str
    """host:port of the agent's HTTPS API; empty when it serves none."""
    ovs_version: str
    node_ip: str
    """The node's tunnel endpoint."""
    pod_cidr: str
    tunnel_type: str
    pods: int
    flows: tuple[TableFlows, ...]
    """Every table holding flows, by table id."""
    checks: tuple[HealthCheck, ...]
    rules: tuple[RuleTraffic, ...]
    api_ca: str = ""
    """PEM of the CA that alone signed the certificate of the agent's HTTPS API."""

    @property
    def healthy(self) -> bool:
        return all(check.failure is None for check in self.checks)

    @property
    def flow_count(self) -> int:
        return sum(table.flows for table in self.flows)


@value
class StatusReport:
    """One node's report: every realization (`full`) or the changes since the last report."""

    node_name: str
    full: bool
    realizations: tuple[Realization, ...]
    forgotten: tuple[str, ...]
    """Policies the node no longer enforces."""
    agent: AgentInfo | None = None
    """The heartbeat, in the reports that carry one."""
