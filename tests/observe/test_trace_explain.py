"""ofproto/trace read and explained: a real Open vSwitch holding the agent's own pipeline, pod,
peer and policy flows, traced through `ovs-appctl` as the agent runs it.

Two local pods (ports 3 and 4) and a peer node; an ingress rule allows 10.10.0.3 to reach pod
4 on TCP 80, and pod 4 is isolated for ingress. The explanation must name the tables crossed,
the rule that allowed or whose isolation dropped the packet, and where it went.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from agent.node.local import gateway_mac
from agent.observe.appctl import Appctl, AppctlError
from agent.observe.explain import explain
from agent.observe.tracer import flow_text
from agent.observe.tracetext import TraceFormatError, parse
from agent.openflow.builders import metrics, policy
from agent.openflow.client import FlowClient
from agent.openflow.cookies import Category, Cookies
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
from fastpath import actions as A
from lab.ovs import OvsInstance
from pyantrea_api.objects import Direction
from pyantrea_api.trace import Packet, Port, PortRole, RuleRef, TraceProtocol, Verdict
from tests.observe.tracebridge import add_trace_bridge

pytestmark = pytest.mark.ovs

COOKIES = Cookies(1)
GATEWAY = IPv4Interface("10.10.0.1/24")
GATEWAY_MAC = gateway_mac(GATEWAY.ip)
PODS = {
    3: (IPv4Address("10.10.0.3"), "02:00:00:00:00:03"),
    4: (IPv4Address("10.10.0.4"), "02:00:00:00:00:04"),
}
PEER = PeerNode("n2", IPv4Network("10.20.0.0/24"), IPv4Address("192.168.9.2"))
CONJ_ID = 7
IN = Direction.IN
RULES = policy.RULE_TABLE[IN]
ALLOW = RuleRef("web", "allow-client", "ingress[0]")
PORTS = {
    1: Port(1, PortRole.TUNNEL, "tun0"),
    2: Port(2, PortRole.GATEWAY, "gw0"),
    3: Port(3, PortRole.POD, "web/client"),
    4: Port(4, PortRole.POD, "web/server"),
}


class Rules:
    """The rules of this test's one policy, as the agent's policy state would name them."""

    def allowing(self, conj_id: int) -> RuleRef | None:
        return ALLOW if conj_id == CONJ_ID else None

    def isolating(self, direction: Direction, pod: int) -> tuple[RuleRef, ...]:
        return (ALLOW,) if (direction, pod) == (Direction.IN, 4) else ()


def _flows() -> dict[str, list]:
    rule = COOKIES(Category.POLICY)
    client_ip = int(PODS[3][0])
    actions = [A.Conjunction(CONJ_ID, clause, 3) for clause in (1, 2, 3)]
    return {
        "pipeline": pipeline_flows(COOKIES),
        "tunnel": tunnel_flows(1, COOKIES),
        "gateway": gateway_flows(GatewayPort(2, GATEWAY, GATEWAY_MAC), IPv4Network("10.96.0.0/12"), COOKIES),
        "peer": peer_flows(PEER, GATEWAY_MAC, 1, COOKIES),
        **{
            f"pod{ofport}": pod_flows(PodPort(ofport, ip, mac), GATEWAY_MAC, COOKIES)
            for ofport, (ip, mac) in PODS.items()
        },
        "policy": [
            policy.conjunctive_flow(RULES, policy.peer_match(IN, client_ip, 0xFFFFFFFF), [actions[0]], rule),
            policy.conjunctive_flow(RULES, policy.pod_match(IN, 4), [actions[1]], rule),
            policy.conjunctive_flow(RULES, policy.port_match(6, 80, 0xFFFF), [actions[2]], rule),
            policy.conjunction_action_flow(IN, CONJ_ID, cookie=COOKIES(Category.POLICY_RULE, CONJ_ID)),
            *metrics.rule_metric_flows(IN, CONJ_ID, cookie=COOKIES(Category.POLICY_METRIC, CONJ_ID)),
            policy.isolation_flow(IN, 4, cookie=rule),
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def switch(module_ovs: OvsInstance) -> Iterator[OvsInstance]:
    """br-int with tun0, gw0 and two pod ports, holding the flows of `_flows()`."""
    ovs = module_ovs
    add_trace_bridge(ovs)

    async def install() -> None:
        client = FlowClient(ovs.paths.mgmt_socket("br-int"), COOKIES)
        await client.connect()
        try:
            await client.sync_many(_flows())
        finally:
            await client.close()

    asyncio.run(install())
    yield ovs


def trace(ovs: OvsInstance, packet: Packet, *, dl_dst: str) -> str:
    ip, mac = PODS[3]
    flow = flow_text(packet, src_ip=ip, in_port=3, dl_src=mac, dl_dst=dl_dst, ttl=64)
    return asyncio.run(Appctl(ovs.paths.rundir).trace("br-int", flow))


def tcp(dst: str, port: int) -> Packet:
    return Packet(TraceProtocol.TCP, None, IPv4Address(dst), 40000, port)


def test_an_allowed_packet_names_its_rule_and_reaches_the_pod(switch: OvsInstance):
    result = explain(parse(trace(switch, tcp("10.10.0.4", 80), dl_dst=PODS[4][1])), PORTS, Rules())
    assert result.verdict is Verdict.DELIVERED
    assert result.output == PORTS[4]
    assert result.reason == "delivered to pod web/server (port 4)"
    names = [step.table_name for step in result.steps]
    assert names[:3] == ["Classifier", "SpoofGuard", "Conntrack"]
    assert names[-5:] == ["IngressRule", "IngressMetric", "ConntrackCommit", "ServiceSNAT", "L2ForwardingOut"]
    assert "IngressDefault" not in names  # the rule's action flow went on to its metric table
    metric = result.steps[-4]
    assert (metric.table, metric.priority) == (101, 200) and "reg6=0x7" in metric.match
    (decision,) = result.policies
    assert (decision.direction, decision.allowed, decision.rules) == (Direction.IN, True, (ALLOW,))


def test_a_packet_no_rule_allows_is_dropped_by_the_isolation_of_the_rule(switch: OvsInstance):
    result = explain(parse(trace(switch, tcp("10.10.0.4", 81), dl_dst=PODS[4][1])), PORTS, Rules())
    assert result.verdict is Verdict.DROPPED
    assert result.steps[-1].table_name == "IngressDefault"
    (decision,) = result.policies
    assert (decision.direction, decision.allowed, decision.rules) == (Direction.IN, False, (ALLOW,))
    assert "NetworkPolicy web/allow-client ingress[0]" in result.reason


def test_a_packet_for_another_node_leaves_through_the_tunnel(switch: OvsInstance):
    result = explain(parse(trace(switch, tcp("10.20.0.5", 80), dl_dst=GATEWAY_MAC)), PORTS, Rules())
    assert result.verdict is Verdict.TUNNELED
    assert result.tunnel_destination == str(PEER.node_ip)
    assert result.output == PORTS[1]
    assert result.policies == ()
    assert result.packet["dl_dst"] == "aa:bb:cc:dd:ee:ff"
    assert result.packet["nw_ttl"] == "63"


def test_spoofed_packets_are_dropped_by_spoofguard_without_a_policy(switch: OvsInstance):
    packet = tcp("10.10.0.4", 80)
    flow = flow_text(
        packet, src_ip=IPv4Address("10.10.0.99"), in_port=3, dl_src=PODS[3][1], dl_dst=PODS[4][1], ttl=64
    )
    result = explain(parse(asyncio.run(Appctl(switch.paths.rundir).trace("br-int", flow))), PORTS, Rules())
    assert result.verdict is Verdict.DROPPED
    assert result.reason == "dropped by SpoofGuard: no flow of the table matches the packet"
    assert result.policies == ()


def test_every_protocol_makes_a_flow_ofproto_trace_accepts(switch: OvsInstance):
    for protocol in TraceProtocol:
        packet = Packet(protocol, None, IPv4Address("10.10.0.4"), 40000, 80)
        assert parse(trace(switch, packet, dl_dst=PODS[4][1])).sections


def test_appctl_reports_the_version_and_refusals(switch: OvsInstance):
    appctl = Appctl(switch.paths.rundir)
    version = asyncio.run(appctl.version())
    assert version[0].isdigit() and version.count(".") == 2
    with pytest.raises(AppctlError, match="Bad openflow flow syntax"):
        asyncio.run(appctl.trace("br-int", "tcp,tp_nonsense=1"))


def test_text_that_is_not_a_trace_is_refused():
    with pytest.raises(TraceFormatError):
        parse("ovs-vswitchd: no such bridge\n")
