"""`pyantrea-agent`: the node agent program.

    pyantrea-agent --config /etc/pyantrea/pyantrea-agent.conf [--tunnelType=geneve] [--log-level debug]

It runs in the node's network namespace (hostNetwork in the DaemonSet; `ip netns exec node1
pyantrea-agent ...` in the lab), logs JSON lines on stderr, serves `/livez`, `/readyz`,
`/metrics` (flows per table, bundle latency, OVS reconnects, policy realization latency, CNI
operation latency and errors), `/api/v1/podinterfaces`, `/api/v1/networkpolicies/stats`,
`/api/v1/flows` and `/api/v1/trace` (agent.observe.api) over HTTPS on `apiPort`, and runs the `Agent`
(agent.agent), its NetworkPolicy side (agent.policy.runtime, whose controller client also sends
the heartbeats) and its flow export (agent.observe) on uvloop until SIGTERM or a task fails.
`agent_main` is where the agent is composed, in order, each part given what it uses. The
CNI service on `cniSocket` serves once the datapath is up and the stale pod clean-up has removed
what pods deleted while the agent was down left behind (`pyantrea_agent_cni_stale_cleaned_total`),
but ADDs wait until the initial policies are installed.

The API is guarded as Antrea's and Kubernetes' own components guard theirs (`agent.observe.access`):
a certificate the agent makes at each start (its CA goes to the controller in the heartbeats,
so the controller and pyantctl trust that one certificate), bearer tokens reviewed by the API
server, and a SubjectAccessReview of the path; `/livez`, `/readyz` and `/metrics` stay open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from contextlib import closing
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from agent.agent import Agent
from agent.cniserver.gate import StartupGate
from agent.cniserver.metrics import CniMetrics
from agent.cniserver.nodepods import ApiNodePods
from agent.cniserver.server import CniServer
from agent.controller.client import ControllerClient
from agent.controller.reporter import RealizationMetrics, RealizationReporter
from agent.fqdn.interceptor import DnsInterceptor
from agent.observe.access import ApiAccess
from agent.observe.api import AgentApi
from agent.observe.appctl import Appctl
from agent.observe.flowexport import configure_flow_export
from agent.observe.heartbeat import AgentHeartbeat, api_address
from agent.observe.node import NodeDatapath
from agent.observe.rules import RealizedRules
from agent.observe.tracer import Tracer
from agent.policy.realizer import PolicyRealizer
from agent.policy.runtime import CONVERGENCE_GATE, PolicyRuntime, add_readiness_check
from agent.policy.store import PolicyStore
from agent.proxy.proxier import Proxier, ProxyMetrics
from pyantrea_config.agent import AgentConfig
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.logs import setup_logging
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.program import parse_command_line
from pyantrea_daemon.runner import run
from pyantrea_daemon.tasks import first_of
from pyantrea_kube.config import load_api_client

log = logging.getLogger("agent")
PROXY_GATE = "antrea-proxy"

DEFAULT_CONFIG = Path("/etc/pyantrea/pyantrea-agent.conf")


async def agent_main(config: AgentConfig) -> None:
    """The agent, composed in order: health and API endpoints; the edges and the datapath (with
    its flow client and pod datapath); the realizer; the controller client; observability; the
    CNI server; then the policies' start-up, after which pod networking opens."""
    readiness, metrics = Readiness(logger=log), Metrics("agent")
    api_client = load_api_client(config.kubeconfig)
    access = ApiAccess.create(config.node_name, api_client)
    server = HttpServer(
        host=str(config.api_bind_address),
        port=config.api_port,
        readiness=readiness,
        metrics=metrics if config.enable_prometheus_metrics else None,
        logger=log,
        ssl_context=access.ssl_context,
        guard=access.guard,
    )
    api = AgentApi()  # routes before the server starts; it answers once the datapath is up
    api.add_routes(server)
    datapath = Agent(config, metrics=metrics, api_client=api_client)  # OVSDB, netlink, Nodes; bridge, pods
    datapath.add_readiness_checks(readiness)
    converged = datapath.add_convergence_gate(CONVERGENCE_GATE)
    add_readiness_check(readiness, converged)
    # The previous agent's Service flows and groups stay until the proxy has installed its own.
    proxy_synced = datapath.add_convergence_gate(PROXY_GATE) if config.antrea_proxy.enable else None
    with closing(api_client):  # Agent closes only a client it made itself
        async with server, datapath:
            node = node_datapath(config, datapath)
            # The one policy store: the controller client writes it, the realizer's rule cache reads it.
            store = PolicyStore()
            reporter = RealizationReporter(config.node_name, metrics=RealizationMetrics.declare(metrics))
            realizer = PolicyRealizer(datapath.flows, store, reporter=reporter)
            rules, appctl = RealizedRules(realizer), Appctl(config.ovs_run_dir)
            heartbeat = AgentHeartbeat(
                node,
                flows=datapath.flows,
                readiness=readiness,
                appctl=appctl,
                api_address=api_address(config.api_bind_address, node.local.node_ip, server.port),
                api_ca=access.ca,
                rule_traffic=rules.traffic,
            )
            client = ControllerClient.from_config(config, store=store, reporter=reporter, heartbeat=heartbeat)
            policies = PolicyRuntime(
                realizer=realizer,
                client=client,
                pods=datapath.pods,
                converged=converged,
                state_dir=config.policy_state_dir,
            )
            proxier = antrea_proxy(config, datapath, ProxyMetrics.declare(metrics), proxy_synced)
            services = proxier.programmed if proxier is not None else None
            tracer = Tracer(node, appctl, rules, services=services)
            api.serve(flows=datapath.flows, tracer=tracer, pods=datapath.pods, stats=realizer)
            await configure_flow_export(datapath.ovsdb, config.ovs_bridge, config.flow_export)
            gate = StartupGate()
            api.serve_services(proxier)
            # domainNames peers: DNS answers to their pods come here before the pods get them
            dns = DnsInterceptor(
                mgmt_socket=datapath.flows.mgmt_socket,
                realizer=realizer,
                revalidate=lambda: appctl.run("revalidator/wait"),
            )
            async with (
                dns,
                proxier if proxier is not None else contextlib.nullcontext(),
                cni_server(config, datapath, gate, CniMetrics.declare(metrics)),
                policies,
            ):
                # Every part with long-running tasks: the first that fails ends the agent (its
                # supervisor starts it again) instead of leaving it running without that part.
                parts = [datapath, policies, dns, *([proxier] if proxier is not None else [])]
                await first_of(policies.wait_initial(), *(part.wait() for part in parts))
                gate.open()
                log.info("agent running", extra={"port": server.port, "round": datapath.flows.cookies.round})
                await first_of(*(part.wait() for part in parts))


def node_datapath(config: AgentConfig, agent: Agent) -> NodeDatapath:
    """What the observers know of the started datapath: the node, its bridge and ports, its pods."""
    bridge = agent.bridge
    return NodeDatapath(
        local=agent.local,
        bridge=config.ovs_bridge,
        gateway=config.host_gateway,
        tunnel_type=config.tunnel_type.value,
        gateway_ofport=bridge.gateway_ofport,
        tunnel_ofport=bridge.tunnel_ofport,
        pods=agent.pods,
    )


def antrea_proxy(
    config: AgentConfig, agent: Agent, metrics: ProxyMetrics, synced: asyncio.Event | None = None
) -> Proxier | None:
    """AntreaProxy on the started datapath (None with `antreaProxy.enable: false`). NodePorts are
    served on the Node's InternalIP, or on the node addresses inside `nodePortAddresses`."""
    if not config.antrea_proxy.enable:
        return None
    candidates = [agent.local.node_ip]
    networks = config.antrea_proxy.node_port_addresses
    addresses = [ip for ip in candidates if not networks or any(ip in net for net in networks)]
    return Proxier(
        node=config.node_name,
        flows=agent.flows,
        api_client=agent.api_client,
        node_port_addresses=[IPv4Address(ip) for ip in addresses],
        metrics=metrics,
        synced=synced,
        routes=agent.netlink,
        service_cidr=config.service_cidr if isinstance(config.service_cidr, IPv4Network) else None,
        gateway=config.host_gateway,
    )


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
