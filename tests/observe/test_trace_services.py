"""Tracing a packet to a Service on a real Open vSwitch: the agent's pipeline, pods, a peer node,
a NetworkPolicy, and AntreaProxy's flows and groups as the proxy computes them, traced by the
agent's own Tracer through `ovs-appctl ofproto/trace`.

Pod web/client (port 3) sends to Service web/api (10.96.0.50): TCP 80 (NodePort 30080 on the
node's address 192.168.9.1) and UDP 53, to target port 8080 on web/server (10.10.0.4, port 4,
this node) and on a pod of node n2 (10.20.0.5).
web/server admits web/client on TCP 8080 only. Service web/empty (10.96.0.51) has no endpoints.
Service web/sticky (10.96.0.52) has the same endpoints and ClientIP affinity.
The trace must follow the packet through the DNAT: the Service, the endpoint it was sent to and
why that one, the policy at the endpoint, and where the packet goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from agent.node.local import LocalNode, gateway_mac
from agent.observe.api import hop_trace
from agent.observe.appctl import Appctl
from agent.observe.tracer import Tracer, TraceResult
from agent.openflow.builders import metrics, policy
from agent.openflow.builders import proxy as P
from agent.openflow.client import FlowClient
from agent.openflow.cookies import Category, Cookies, name_id
from agent.openflow.features import (
    GatewayPort,
    PeerNode,
    PodPort,
    gateway_flows,
    peer_flows,
    pipeline_flows,
    pod_flows,
    tunnel_flows,
)
from agent.pods.api import PodAttachment, PodInterface
from agent.proxy.model import Endpoint as SliceEndpoint
from agent.proxy.model import EndpointSlice, Protocol, Service, ServicePort, SlicePort
from agent.proxy.state import ProgrammedPort, ProxyState
from fastpath import actions as A
from lab.ovs import OvsInstance
from pyantctl.trace import render
from pyantrea_api.objects import Direction
from pyantrea_api.trace import (
    ChosenBy,
    ClusterTrace,
    Endpoint,
    FromPod,
    Packet,
    RuleRef,
    TraceError,
    TraceProtocol,
    Verdict,
)
from tests.observe.tracebridge import add_trace_bridge

pytestmark = pytest.mark.ovs

COOKIES = Cookies(1)
NODE = LocalNode("n1", IPv4Network("10.10.0.0/24"), IPv4Address("192.168.9.1"))
GATEWAY = IPv4Interface("10.10.0.1/24")
GATEWAY_MAC = gateway_mac(GATEWAY.ip)
CLIENT = (3, IPv4Address("10.10.0.3"), "02:00:00:00:00:03")
SERVER = (4, IPv4Address("10.10.0.4"), "02:00:00:00:00:04")
PEER = PeerNode("n2", IPv4Network("10.20.0.0/24"), IPv4Address("192.168.9.2"))
REMOTE = IPv4Address("10.20.0.5")
API_IP, EMPTY_IP = IPv4Address("10.96.0.50"), IPv4Address("10.96.0.51")
STICKY_IP = IPv4Address("10.96.0.52")
LOCAL_EP, REMOTE_EP = Endpoint(SERVER[1], 8080), Endpoint(REMOTE, 8080)
NODE_PORT = 30080
CONJ_ID = 7
ALLOW = RuleRef("web", "allow-client", "ingress[0]")


class Rules:
    def allowing(self, conj_id: int) -> RuleRef | None:
        return ALLOW if conj_id == CONJ_ID else None

    def isolating(self, direction: Direction, pod: int) -> tuple[RuleRef, ...]:
        return (ALLOW,) if (direction, pod) == (Direction.IN, SERVER[0]) else ()


def attachment(ofport: int, ip: IPv4Address, mac: str, name: str) -> PodInterface:
    return PodInterface(
        PodAttachment(
            container_id=f"c{ofport}", netns=f"/var/run/netns/p{ofport}", ifname="eth0", pod_namespace="web",
            pod_name=name, host_ifname=f"p{ofport}", ip=IPv4Interface(f"{ip}/24"), mac=mac,
            gateway=GATEWAY.ip,
        ),
        ofport,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Node:
    """This test's node, as the tracer reads a started agent (`tracer.TraceNode`)."""

    name: str = NODE.name
    bridge: str = "br-int"
    local: LocalNode = NODE
    tunnel_ofport: int = 1
    gateway_ofport: int = 2
    gateway: str = "gw0"

    def interfaces(self) -> list[PodInterface]:
        return [attachment(*CLIENT, "client"), attachment(*SERVER, "server")]


def proxy_state() -> ProxyState:
    """The proxy's own computation of this test's Services."""
    state = ProxyState(NODE.name, lambda key: COOKIES(Category.SERVICE, name_id(key)))
    endpoints = (SliceEndpoint(SERVER[1], NODE.name), SliceEndpoint(REMOTE, PEER.name))
    slice_ports = (SlicePort("http", Protocol.TCP, 8080), SlicePort("dns", Protocol.UDP, 8080))
    ports = (ServicePort("http", Protocol.TCP, 80, NODE_PORT), ServicePort("dns", Protocol.UDP, 53))
    state.set_service(Service("web", "api", (API_IP,), ports))
    state.set_service(Service("web", "empty", (EMPTY_IP,), (ServicePort("http", Protocol.TCP, 80),)))
    sticky = (ServicePort("http", Protocol.TCP, 80),)
    state.set_service(Service("web", "sticky", (STICKY_IP,), sticky, affinity_timeout=600))
    state.set_slice(EndpointSlice("web", "sticky-1", "sticky", slice_ports[:1], endpoints))
    state.set_slice(EndpointSlice("web", "api-1", "api", slice_ports, endpoints))
    return state


def programmed(state: ProxyState) -> list[tuple[Service, tuple[ProgrammedPort, ...]]]:
    return [(service, state.programmed(service.key)) for service in state.services()]


@pytest.fixture(scope="module")
def tracer(module_ovs: OvsInstance) -> Iterator[Tracer]:
    ovs = module_ovs
    add_trace_bridge(ovs)

    state = proxy_state()
    change = state.changes()
    rule = COOKIES(Category.POLICY)
    conj = [A.Conjunction(CONJ_ID, clause, 3) for clause in (1, 2, 3)]
    IN, rules = Direction.IN, policy.RULE_TABLE[Direction.IN]
    flows = {
        "pipeline": pipeline_flows(COOKIES, antrea_proxy=True),
        "tunnel": tunnel_flows(1, COOKIES),
        "gateway": gateway_flows(
            GatewayPort(2, GATEWAY, GATEWAY_MAC), IPv4Network("10.96.0.0/12"), COOKIES, antrea_proxy=True
        ),
        "peer": peer_flows(PEER, GATEWAY_MAC, 1, COOKIES),
        "pods": [
            flow
            for ofport, ip, mac in (CLIENT, SERVER)
            for flow in pod_flows(PodPort(ofport, ip, mac), GATEWAY_MAC, COOKIES)
        ],
        "policy": [
            policy.conjunctive_flow(rules, policy.peer_match(IN, int(CLIENT[1]), 2**32 - 1), [conj[0]], rule),
            policy.conjunctive_flow(rules, policy.pod_match(IN, SERVER[0]), [conj[1]], rule),
            policy.conjunctive_flow(rules, policy.port_match(6, 8080, 0xFFFF), [conj[2]], rule),
            policy.conjunction_action_flow(IN, CONJ_ID, cookie=COOKIES(Category.POLICY_RULE, CONJ_ID)),
            *metrics.rule_metric_flows(IN, CONJ_ID, cookie=COOKIES(Category.POLICY_METRIC, CONJ_ID)),
            policy.isolation_flow(IN, SERVER[0], cookie=rule),
        ],
        "proxy": change.put,
        "nodeports": P.node_port_mark_flows([NODE.node_ip], cookie=COOKIES(Category.SERVICE)),
    }  # fmt: skip

    async def install() -> None:
        client = FlowClient(ovs.paths.mgmt_socket("br-int"), COOKIES)
        await client.connect()
        try:
            await client.sync_many(flows, groups={"proxy": change.put_groups})
        finally:
            await client.close()

    asyncio.run(install())
    yield Tracer(Node(), Appctl(ovs.paths.rundir), Rules(), services=lambda: programmed(state))


def trace(
    tracer: Tracer, protocol: TraceProtocol, dst: IPv4Address, port: int, *, endpoint: Endpoint | None = None,
    source_port: int = 40000,
) -> TraceResult:  # fmt: skip
    packet = Packet(protocol, None, dst, source_port, port)
    return asyncio.run(tracer.trace(FromPod("web", "client"), packet, endpoint))


def as_read(result: TraceResult, dst: IPv4Address, port: int, protocol: str = "TCP") -> str:
    """What `pyantctl trace` prints for this one hop."""
    hop = hop_trace(result)
    answer = ClusterTrace(
        "web/client", str(CLIENT[1]), str(dst), str(dst), None, TraceProtocol(protocol), port,
        hop.verdict, hop.reason, (hop,),
    )  # fmt: skip
    return render(ClusterTrace.from_json(answer.to_json()))


def test_a_pinned_local_endpoint_is_followed_through_the_dnat_to_its_policy_and_pod(tracer: Tracer):
    result = trace(tracer, TraceProtocol.TCP, API_IP, 80, endpoint=Endpoint(SERVER[1]))
    service = result.service
    assert service is not None
    assert (service.service, service.port_name, service.frontend) == ("web/api", "http", "10.96.0.50:80")
    assert set(service.endpoints) == {LOCAL_EP, REMOTE_EP}
    assert (service.endpoint, service.chosen_by) == (LOCAL_EP, ChosenBy.PINNED)
    explanation = result.explanation
    assert explanation.verdict is Verdict.DELIVERED
    assert explanation.reason == "delivered to pod web/server (port 4)"
    (decision,) = explanation.policies
    assert (decision.direction, decision.allowed, decision.rules) == (Direction.IN, True, (ALLOW,))
    names = [step.table_name for step in explanation.steps]
    assert names.index("ServiceLB") < names.index("EndpointDNAT") < names.index("IngressRule")
    # After the DNAT the packet is the endpoint's: its address and the target port.
    assert explanation.packet["nw_dst"] == "10.10.0.4" and explanation.packet["tp_dst"] == "8080"
    text = as_read(result, API_IP, 80)
    assert "Service web/api http/80 (10.96.0.50:80) -> endpoint 10.10.0.4:8080" in text
    assert "chosen: the endpoint asked for (--endpoint)" in text
    assert "ingress: allowed by NetworkPolicy web/allow-client ingress[0]" in text
    assert text.splitlines()[0].endswith("TCP/80: Delivered")


def test_a_pinned_remote_endpoint_leaves_through_the_tunnel_dnated(tracer: Tracer):
    result = trace(tracer, TraceProtocol.TCP, API_IP, 80, endpoint=REMOTE_EP)
    assert result.service is not None and result.service.endpoint == REMOTE_EP
    explanation = result.explanation
    assert explanation.verdict is Verdict.TUNNELED
    assert explanation.tunnel_destination == str(PEER.node_ip)
    assert explanation.packet["nw_dst"] == str(REMOTE) and explanation.packet["tp_dst"] == "8080"
    assert explanation.policies == ()  # web/server's policy is not the remote pod's


def test_without_a_pin_tcp_follows_one_endpoint_and_says_the_datapath_picks_per_connection(tracer: Tracer):
    seen = set()
    for source_port in range(40000, 40012):
        result = trace(tracer, TraceProtocol.TCP, API_IP, 80, source_port=source_port)
        service = result.service
        assert service is not None and service.chosen_by is ChosenBy.DATAPATH_HASH
        assert service.endpoint in (LOCAL_EP, REMOTE_EP)
        assert result.flow.startswith("dp_hash=")
        expected = Verdict.DELIVERED if service.endpoint == LOCAL_EP else Verdict.TUNNELED
        assert result.explanation.verdict is expected
        seen.add(service.endpoint)
    assert seen == {LOCAL_EP, REMOTE_EP}  # different connections, different endpoints
    assert "a real connection may get any endpoint" in as_read(result, API_IP, 80)


def test_udp_goes_where_the_groups_hash_sends_it_and_a_contrary_pin_is_refused(tracer: Tracer):
    result = trace(tracer, TraceProtocol.UDP, API_IP, 53)
    service = result.service
    assert service is not None and service.chosen_by is ChosenBy.HASH
    assert (service.port_name, service.protocol) == ("dns", "UDP")
    other = REMOTE_EP if service.endpoint == LOCAL_EP else LOCAL_EP
    with pytest.raises(TraceError, match=rf"this packet goes to {service.endpoint}, not {other}"):
        trace(tracer, TraceProtocol.UDP, API_IP, 53, endpoint=other)


def test_a_service_without_endpoints_is_rejected(tracer: Tracer):
    result = trace(tracer, TraceProtocol.TCP, EMPTY_IP, 80)
    assert result.explanation.verdict is Verdict.REJECTED
    assert "the agent, which answers a TCP reset" in result.explanation.reason
    assert result.service is not None
    assert (result.service.service, result.service.endpoints, result.service.endpoint) == (
        "web/empty",
        (),
        None,
    )
    text = as_read(result, EMPTY_IP, 80)
    assert "Service web/empty http/80 (10.96.0.51:80): no endpoint" in text
    assert text.splitlines()[0].endswith("TCP/80: Rejected")


def test_a_pin_that_is_no_endpoint_is_refused_naming_the_endpoints(tracer: Tracer):
    with pytest.raises(TraceError, match=r"10.10.0.9 is not an endpoint of Service web/api port http on n1"):
        trace(tracer, TraceProtocol.TCP, API_IP, 80, endpoint=Endpoint(IPv4Address("10.10.0.9")))
    with pytest.raises(TraceError, match=r"the packet to 10.10.0.4 meets no Service on node n1"):
        trace(tracer, TraceProtocol.TCP, SERVER[1], 8080, endpoint=LOCAL_EP)


def test_a_node_port_is_traced_like_its_cluster_ip(tracer: Tracer):
    result = trace(tracer, TraceProtocol.TCP, NODE.node_ip, NODE_PORT, endpoint=LOCAL_EP)
    service = result.service
    assert service is not None
    assert (service.service, service.frontend) == ("web/api", "NodePort 192.168.9.1:30080")
    assert service.endpoint == LOCAL_EP and result.explanation.verdict is Verdict.DELIVERED
    assert "Service web/api http/30080 (NodePort 192.168.9.1:30080) -> endpoint 10.10.0.4:8080" in as_read(
        result, NODE.node_ip, NODE_PORT
    )


def test_client_ip_affinity_sends_every_connection_of_the_client_to_one_endpoint(tracer: Tracer):
    """The group of a Service with ClientIP affinity hashes the client's address only, in Open
    vSwitch: the trace shows where every connection of this client goes (the trace learns
    nothing: ofproto/trace suppresses the learn action's side effects)."""
    chosen = set()
    for source_port in range(40000, 40006):
        result = trace(tracer, TraceProtocol.TCP, STICKY_IP, 80, source_port=source_port)
        service = result.service
        assert service is not None and service.service == "web/sticky"
        assert service.chosen_by is ChosenBy.HASH and not result.flow.startswith("dp_hash=")
        chosen.add(service.endpoint)
    assert len(chosen) == 1 and chosen <= {LOCAL_EP, REMOTE_EP}
