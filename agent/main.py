"""`pyantrea-agent`: the node agent program.

    pyantrea-agent --config /etc/pyantrea/pyantrea-agent.conf [--tunnelType=geneve] [--log-level debug]

It runs in the node's network namespace (hostNetwork in the DaemonSet; `ip netns exec node1
pyantrea-agent ...` in the lab), logs JSON lines on stderr, serves `/livez`, `/readyz`,
`/metrics` (flows per table, bundle latency, OVS reconnects, policy realization latency, CNI
operation latency and errors), `/api/v1/podinterfaces`, `/api/v1/networkpolicies/stats`,
`/api/v1/flows` and `/api/v1/trace` (agent.observe.api) on `apiPort`, and runs the `Agent`
(agent.agent), its NetworkPolicy side (agent.policy.runtime, whose controller client also sends
the heartbeats) and its flow export (agent.observe) on uvloop until SIGTERM or a task fails. The
CNI service on `cniSocket` serves once the datapath is up and the stale pod clean-up has removed
what pods deleted while the agent was down left behind (`pyantrea_agent_cni_stale_cleaned_total`),
but ADDs wait until the initial policies are installed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.agent import Agent
from agent.cniserver.gate import StartupGate
from agent.cniserver.metrics import CniMetrics
from agent.cniserver.nodepods import ApiNodePods
from agent.cniserver.server import CniServer
from agent.controller.client import ClientMetrics
from agent.observe.runtime import Observability
from agent.policy.runtime import PolicyRuntime
from pyantrea_config.agent import AgentConfig
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.logs import setup_logging
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.program import parse_command_line
from pyantrea_daemon.runner import run
from pyantrea_daemon.tasks import first_of

log = logging.getLogger("agent")

DEFAULT_CONFIG = Path("/etc/pyantrea/pyantrea-agent.conf")


async def agent_main(config: AgentConfig) -> None:
    readiness, metrics = Readiness(logger=log), Metrics("agent")
    server = HttpServer(
        host=str(config.api_bind_address),
        port=config.api_port,
        readiness=readiness,
        metrics=metrics if config.enable_prometheus_metrics else None,
        logger=log,
    )
    agent = Agent(config, metrics=metrics)
    agent.add_readiness_checks(readiness)
    observe = Observability(config, agent, readiness, policies=lambda: policies.realizer)
    observe.add_routes(server)
    heartbeat, client_metrics = observe.heartbeat(lambda: server.port), ClientMetrics.declare(metrics)
    policies = PolicyRuntime(config, agent, heartbeat=heartbeat, client_metrics=client_metrics)
    policies.add_readiness_checks(readiness)
    policies.add_routes(server)

    async def pod_interfaces(request: web.Request) -> list[dict[str, Any]]:
        return [
            {
                "containerID": i.attachment.container_id,
                "podNamespace": i.attachment.pod_namespace,
                "podName": i.attachment.pod_name,
                "interface": i.attachment.host_ifname,
                "ofport": i.ofport,
                "ip": str(i.attachment.ip.ip),
                "mac": i.attachment.mac,
            }
            for i in agent.pods.interfaces()
        ]

    server.add_json_route("GET", "/api/v1/podinterfaces", pod_interfaces)
    gate, cni_metrics = StartupGate(), CniMetrics.declare(metrics)
    async with server, agent, observe, cni_server(config, agent, gate, cni_metrics), policies:
        await first_of(policies.wait_initial(), agent.wait())
        gate.open()
        log.info("agent running", extra={"port": server.port, "round": agent.flows.cookies.round})
        await first_of(agent.wait(), policies.wait())


def cni_server(config: AgentConfig, agent: Agent, gate: StartupGate, metrics: CniMetrics) -> CniServer:
    """The CNI service for this node's pods, on the started agent's datapath; it cleans up after
    pods deleted while the agent was down before it listens."""
    return CniServer(
        socket_path=config.cni_socket,
        state_dir=config.cni_state_dir,
        pod_cidr=agent.local.subnet,
        gateway=agent.local.gateway.ip,
        mtu=config.default_mtu,
        datapath=agent.pods,
        netlink=agent.netlink,
        gate=gate,
        metrics=metrics,
        node_pods=ApiNodePods(agent.api_client, config.node_name),
    )


def main() -> None:
    config, args = parse_command_line("pyantrea-agent", __doc__, AgentConfig, DEFAULT_CONFIG)
    setup_logging(component="agent", node=config.node_name, level=args.log_level)
    sys.exit(run(agent_main(config), logger=log))


if __name__ == "__main__":
    main()
