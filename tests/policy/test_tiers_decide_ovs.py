"""Random mixes of ClusterNetworkPolicies and NetworkPolicies decide, on the agent's real flows in a
real Open vSwitch, what an independent evaluator of the API documents decides.

One node with four local pods, x/a, x/b, y/a, y/b (namespaces labelled ns=x|y, pods pod=a|b).
Hypothesis draws Admin and Baseline ClusterNetworkPolicies (subjects by namespaces or pods;
Accept, Deny and Pass rules to namespaces, pods and networks; TCP ports, ranges, or all
traffic) and NetworkPolicies. The policies go through the controller's computation, the rule
cache and the reconciler into the switch beside the pipeline and pod flows the agent installs;
then every pod sends a new TCP connection to every other pod on ports 80 and 81, traced by
`ofproto/trace`. The evaluator below knows nothing of flows: it applies the API's order (Admin
by priority and rule order, then NetworkPolicy for the pods it selects, then Baseline, else
allow) to each direction. Priorities within a tier are distinct here, since the API leaves ties
to the implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.node.local import gateway_mac
from agent.observe.appctl import Appctl
from agent.observe.explain import explain
from agent.observe.tracer import flow_text
from agent.observe.tracetext import parse
from agent.openflow.client import FlowClient
from agent.openflow.features import GatewayPort, PodPort, gateway_flows, pipeline_flows, pod_flows
from lab.ovs import OvsInstance
from pyantrea_api.objects import Direction
from pyantrea_api.trace import Packet, Port, PortRole, RuleRef, TraceProtocol, Verdict
from tests.controlplane import k8s
from tests.policy.node import COOKIES, PolicyNode

pytestmark = pytest.mark.ovs

GATEWAY = IPv4Interface("10.10.0.1/24")
GATEWAY_MAC = gateway_mac(GATEWAY.ip)


@dataclass(frozen=True)
class LabPod:
    ns: str
    name: str
    ofport: int

    @property
    def ip(self) -> str:
        return f"10.10.0.{self.ofport}"

    @property
    def mac(self) -> str:
        return f"02:00:00:00:00:{self.ofport:02x}"

    @property
    def labels(self) -> dict[str, str]:
        return {"pod": self.name}


PODS = [LabPod("x", "a", 3), LabPod("x", "b", 4), LabPod("y", "a", 5), LabPod("y", "b", 6)]
PORTS = (80, 81)


class NoRules:
    def allowing(self, conj_id: int) -> RuleRef | None:
        return None

    def isolating(self, direction: Direction, pod: int) -> tuple[RuleRef, ...]:
        return ()


# -- the evaluator ------------------------------------------------------------------------------


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def ns_labels(pod: LabPod) -> dict[str, str]:
    return {"ns": pod.ns}


def cnp_selects(subject: dict[str, Any], pod: LabPod) -> bool:
    if "namespaces" in subject:
        return selects(subject["namespaces"], ns_labels(pod))
    pods = subject["pods"]
    return selects(pods["namespaceSelector"], ns_labels(pod)) and selects(pods["podSelector"], pod.labels)


def cnp_peer_matches(peer: dict[str, Any], other: LabPod) -> bool:
    if "networks" in peer:
        return any(IPv4Address(other.ip) in IPv4Network(n) for n in peer["networks"])
    return cnp_selects(peer, other)


def cnp_port_matches(protocols: list[dict[str, Any]] | None, port: int) -> bool:
    if not protocols:
        return True
    for protocol in protocols:
        tcp = protocol.get("tcp")
        if tcp is None:
            continue
        wanted = tcp.get("destinationPort")
        if wanted is None or wanted.get("number") == port:
            return True
        span = wanted.get("range")
        if span is not None and span["start"] <= port <= span["end"]:
            return True
    return False


def tier_decision(cnps: list[dict[str, Any]], tier: str, pod: LabPod, other: LabPod, port: int, key: str):
    """ "Accept", "Deny", "Pass" or None (no rule matched)."""
    candidates = []
    for cnp in cnps:
        spec = cnp["spec"]
        if spec["tier"] != tier or not cnp_selects(spec["subject"], pod):
            continue
        for index, rule in enumerate(spec.get(key, [])):
            candidates.append((spec["priority"], index, rule))
    peers_key = "from" if key == "ingress" else "to"
    for _, _, rule in sorted(candidates, key=lambda c: (c[0], c[1])):
        if any(cnp_peer_matches(p, other) for p in rule[peers_key]) and cnp_port_matches(
            rule.get("protocols"), port
        ):
            return rule["action"]
    return None


def np_peer_matches(np: dict[str, Any], peer: dict[str, Any], other: LabPod) -> bool:
    if "namespaceSelector" in peer and not selects(peer["namespaceSelector"], ns_labels(other)):
        return False
    if "namespaceSelector" not in peer and other.ns != np["metadata"]["namespace"]:
        return False
    return selects(peer.get("podSelector", {}), other.labels)


def np_decision(nps: list[dict[str, Any]], pod: LabPod, other: LabPod, port: int, key: str) -> bool | None:
    """None: no NetworkPolicy selects the pod in this direction."""
    kind = "Ingress" if key == "ingress" else "Egress"
    peers_key = "from" if key == "ingress" else "to"
    selecting = [
        np for np in nps
        if np["metadata"]["namespace"] == pod.ns and selects(np["spec"]["podSelector"], pod.labels)
        and kind in np["spec"]["policyTypes"]
    ]  # fmt: skip
    if not selecting:
        return None
    for np in selecting:
        for rule in np["spec"].get(key, []):
            peers = rule.get(peers_key)
            if peers and not any(np_peer_matches(np, p, other) for p in peers):
                continue
            ports = rule.get("ports")
            if ports and not any(p.get("port") is None or p["port"] == port for p in ports):
                continue
            return True
    return False


def decide(cnps, nps, pod: LabPod, other: LabPod, port: int, key: str) -> bool:
    admin = tier_decision(cnps, "Admin", pod, other, port, key)
    if admin in ("Accept", "Deny"):
        return admin == "Accept"
    network_policy = np_decision(nps, pod, other, port, key)
    if network_policy is not None:
        return network_policy
    baseline = tier_decision(cnps, "Baseline", pod, other, port, key)
    return baseline != "Deny"


def reachable(cnps, nps, src: LabPod, dst: LabPod, port: int) -> bool:
    return decide(cnps, nps, src, dst, port, "egress") and decide(cnps, nps, dst, src, port, "ingress")


# -- the strategies -----------------------------------------------------------------------------

NS_SELECTOR = st.sampled_from([{}, {"matchLabels": {"ns": "x"}}, {"matchLabels": {"ns": "y"}}])
POD_SELECTOR = st.sampled_from([{}, {"matchLabels": {"pod": "a"}}, {"matchLabels": {"pod": "b"}}])
SUBJECT = st.one_of(
    NS_SELECTOR.map(lambda s: {"namespaces": s}),
    st.tuples(NS_SELECTOR, POD_SELECTOR).map(
        lambda t: {"pods": {"namespaceSelector": t[0], "podSelector": t[1]}}
    ),
)
NETWORKS = st.sampled_from(
    [["10.10.0.3/32"], ["10.10.0.5/32", "10.10.0.6/32"], ["10.10.0.0/24"], ["0.0.0.0/0"]]
)
PROTOCOLS = st.sampled_from([
    None,
    [{"tcp": {"destinationPort": {"number": 80}}}],
    [{"tcp": {"destinationPort": {"number": 81}}}],
    [{"tcp": {"destinationPort": {"range": {"start": 80, "end": 81}}}}],
    [{"tcp": {}}],
    [{"udp": {"destinationPort": {"number": 80}}}],
])  # fmt: skip
ACTION = st.sampled_from(["Accept", "Deny", "Pass"])


def cnp_rule(peers_key: str, egress: bool) -> st.SearchStrategy[dict[str, Any]]:
    peer = st.one_of(SUBJECT, NETWORKS.map(lambda n: {"networks": n})) if egress else SUBJECT
    return st.builds(
        lambda action, peers, protocols: {
            "action": action, peers_key: peers, **({"protocols": protocols} if protocols else {}),
        },
        ACTION, st.lists(peer, min_size=1, max_size=2), PROTOCOLS,
    )  # fmt: skip


@st.composite
def cluster_policies(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 4))
    priorities = {
        "Admin": iter(draw(st.permutations(range(10)))),
        "Baseline": iter(draw(st.permutations(range(10)))),
    }
    result = []
    for i in range(count):
        tier = draw(st.sampled_from(["Admin", "Baseline"]))
        result.append(
            k8s.cluster_policy(
                f"cnp{i}", tier, next(priorities[tier]), draw(SUBJECT),
                ingress=draw(st.lists(cnp_rule("from", False), max_size=2)),
                egress=draw(st.lists(cnp_rule("to", True), max_size=2)),
            )
        )  # fmt: skip
    return result


NP_PEER = st.one_of(
    POD_SELECTOR.map(lambda s: {"podSelector": s}),
    NS_SELECTOR.map(lambda s: {"namespaceSelector": s}),
    st.tuples(NS_SELECTOR, POD_SELECTOR).map(lambda t: {"namespaceSelector": t[0], "podSelector": t[1]}),
)
NP_PORTS = st.sampled_from([None, [{"protocol": "TCP", "port": 80}], [{"protocol": "TCP", "port": 81}]])


def np_rule(peers_key: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda peers, ports: {**({peers_key: peers} if peers else {}), **({"ports": ports} if ports else {})},
        st.lists(NP_PEER, max_size=2), NP_PORTS,
    )  # fmt: skip


@st.composite
def network_policies(draw: st.DrawFn) -> list[dict[str, Any]]:
    result = []
    for i in range(draw(st.integers(0, 2))):
        types = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        result.append(
            k8s.policy(
                draw(st.sampled_from(["x", "y"])), f"np{i}", draw(POD_SELECTOR),
                ingress=draw(st.lists(np_rule("from"), max_size=2)) if "Ingress" in types else None,
                egress=draw(st.lists(np_rule("to"), max_size=2)) if "Egress" in types else None,
                policy_types=types,
            )
        )  # fmt: skip
    return result


# -- the switch ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def switch(module_ovs: OvsInstance) -> Iterator[OvsInstance]:
    ovs = module_ovs
    ovs.add_bridge("br-int")
    for name, ofport in (("gw0", 2), *((f"p{p.ofport}", p.ofport) for p in PODS)):
        ovs.vsctl("add-port", "br-int", name, "--", "set", "Interface", name, "type=internal",
                  f"ofport_request={ofport}")  # fmt: skip
    yield ovs


def base_flows() -> dict[str, list]:
    gateway = GatewayPort(2, GATEWAY, GATEWAY_MAC)
    flows: dict[str, list] = {
        "pipeline": pipeline_flows(COOKIES),
        "gateway": gateway_flows(gateway, IPv4Network("10.96.0.0/12"), COOKIES),
    }
    for pod in PODS:
        flows[f"pod{pod.ofport}"] = pod_flows(
            PodPort(pod.ofport, IPv4Address(pod.ip), pod.mac), GATEWAY_MAC, COOKIES
        )
    return flows


def policy_node(objects: list[dict[str, Any]]) -> PolicyNode:
    """Node n1 with the pods attached and `objects` realized (one batch)."""
    node = PolicyNode("n1")
    node.apply(
        k8s.node("n1"),
        k8s.namespace("x", ns="x"),
        k8s.namespace("y", ns="y"),
        *(k8s.pod(p.ns, p.name, p.labels, node="n1", ip=p.ip) for p in PODS),
        *objects,
    )
    for pod in PODS:
        node.attach(pod.ns, pod.name, ofport=pod.ofport, ip=pod.ip)
    node.sync()
    return node


def policy_flows(objects: list[dict[str, Any]]) -> list:
    return list(policy_node(objects).installed.values())


async def verdicts(ovs: OvsInstance, objects: list[dict[str, Any]]) -> dict[tuple[str, str, int], bool]:
    client = FlowClient(ovs.paths.mgmt_socket("br-int"), COOKIES)
    await client.connect()
    try:
        await client.sync_many({**base_flows(), "policy": policy_flows(objects)})
    finally:
        await client.close()
    appctl = Appctl(ovs.paths.rundir)
    ports = {p.ofport: Port(p.ofport, PortRole.POD, f"{p.ns}/{p.name}") for p in PODS}
    result = {}
    for src in PODS:
        for dst in PODS:
            if src == dst:
                continue
            for port in PORTS:
                packet = Packet(TraceProtocol.TCP, None, IPv4Address(dst.ip), 40000, port)
                flow = flow_text(packet, src_ip=IPv4Address(src.ip), in_port=src.ofport, dl_src=src.mac,
                                 dl_dst=dst.mac, ttl=64)  # fmt: skip
                explained = explain(parse(await appctl.trace("br-int", flow)), ports, NoRules())
                assert explained.verdict in (Verdict.DELIVERED, Verdict.DROPPED), explained.reason
                result[(f"{src.ns}/{src.name}", f"{dst.ns}/{dst.name}", port)] = (
                    explained.verdict is Verdict.DELIVERED
                )
    return result


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cnps=cluster_policies(), nps=network_policies())
def test_the_flows_decide_as_the_api_does(switch: OvsInstance, cnps, nps):
    real = asyncio.run(verdicts(switch, [*cnps, *nps]))
    expected = {
        (f"{s.ns}/{s.name}", f"{d.ns}/{d.name}", port): reachable(cnps, nps, s, d, port)
        for s in PODS for d in PODS if s != d for port in PORTS
    }  # fmt: skip
    wrong = {key: real[key] for key in expected if real[key] != expected[key]}
    assert not wrong, f"flows decide otherwise than the API for {wrong}"


def explained_trace(ovs: OvsInstance, node: PolicyNode, src: LabPod, dst: LabPod, port: int):
    from agent.observe.rules import RealizedRules

    packet = Packet(TraceProtocol.TCP, None, IPv4Address(dst.ip), 40000, port)
    flow = flow_text(
        packet, src_ip=IPv4Address(src.ip), in_port=src.ofport, dl_src=src.mac, dl_dst=dst.mac, ttl=64
    )
    ports = {p.ofport: Port(p.ofport, PortRole.POD, f"{p.ns}/{p.name}") for p in PODS}
    text = asyncio.run(Appctl(ovs.paths.rundir).trace("br-int", flow))
    return explain(parse(text), ports, RealizedRules(node))  # the node's store and reconciler


def test_a_trace_names_the_cluster_policy_rule_its_tier_and_action(switch: OvsInstance):
    objects = [
        k8s.cluster_policy(
            "guard", "Admin", 3, {"namespaces": {"matchLabels": {"ns": "x"}}},
            ingress=[
                {"name": "from-y", "action": "Deny", "from": [{"namespaces": {"matchLabels": {"ns": "y"}}}]},
                {"name": "from-x", "action": "Accept", "from": [{"namespaces": {"matchLabels": {"ns": "x"}}}],
                 "protocols": [{"tcp": {"destinationPort": {"number": 80}}}]},
                {"name": "delegate", "action": "Pass", "from": [{"namespaces": {}}]},
            ],
        ),
        k8s.policy("x", "only-b", {"matchLabels": {"pod": "a"}}, ingress=[{"from": [{"podSelector": {}}],
                   "ports": [{"protocol": "TCP", "port": 82}]}], policy_types=["Ingress"]),
    ]  # fmt: skip
    node = policy_node(objects)

    async def install() -> None:
        client = FlowClient(switch.paths.mgmt_socket("br-int"), COOKIES)
        await client.connect()
        try:
            await client.sync_many({**base_flows(), "policy": list(node.installed.values())})
        finally:
            await client.close()

    asyncio.run(install())
    x_a, x_b, y_a = PODS[0], PODS[1], PODS[2]

    denied = explained_trace(switch, node, y_a, x_a, 80)
    assert denied.verdict is Verdict.DROPPED
    rule = "ClusterNetworkPolicy guard ingress[0]:from-y (Admin tier, Deny)"
    assert denied.reason == f"dropped by AdminIngressRule: {rule} denies it"
    (decision,) = [d for d in denied.policies if d.action]
    assert (decision.tier, decision.action, decision.allowed) == ("Admin", "Deny", False)

    accepted = explained_trace(switch, node, x_b, x_a, 80)
    assert accepted.verdict is Verdict.DELIVERED
    (decision,) = [d for d in accepted.policies if d.direction is Direction.IN]
    assert decision.action == "Accept" and decision.rules[0].rule == "ingress[1]:from-x"

    passed = explained_trace(switch, node, x_b, x_a, 81)  # passed on, then x/only-b isolates x/a
    assert passed.verdict is Verdict.DROPPED
    actions = [(d.action, d.allowed) for d in passed.policies if d.direction is Direction.IN]
    assert actions == [("Pass", True), ("", False)]
    assert "NetworkPolicy x/only-b" in passed.reason
