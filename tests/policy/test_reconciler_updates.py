"""Minimal updates: each change recomputes only what it affects and changes only the flows it must.

Fed by the controller's own computation (`tests.policy.feed`); flows as `PolicyNode` records
them. The property test replays random changes (pods, namespaces, NetworkPolicies and
ClusterNetworkPolicies of both tiers) one batch at a time and checks that the flows
equal those a fresh node computes from the final state alone.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from agent.policy.store import PolicySnapshot, StateSource
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupMember,
    InternalNetworkPolicy,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    Service,
)
from tests.controlplane import k8s
from tests.policy.node import PolicyNode, line

FROM_B = {"from": [{"podSelector": k8s.labels(app="b")}]}


def base(node: PolicyNode, *extra: dict[str, Any]) -> None:
    node.apply(
        k8s.node("n1"),
        k8s.node("n2"),
        k8s.namespace("x", ns="x"),
        k8s.pod("x", "a", {"app": "a"}, node="n1", ip="172.16.1.2"),
        k8s.pod("x", "b1", {"app": "b"}, node="n2", ip="172.16.2.2"),
        *extra,
    )
    node.attach("x", "a", ofport=3, ip="172.16.1.2")
    node.sync()


def test_one_new_member_of_a_group_used_by_k_rules_changes_one_flow():
    node = PolicyNode()
    policies = [
        k8s.policy("x", f"p{i}", k8s.labels(app="a"), ingress=[{**FROM_B, "ports": [{"port": 80 + i}]}])
        for i in range(5)
    ]
    base(node, *policies)
    node.apply(k8s.pod("x", "b2", {"app": "b"}, node="n2", ip="172.16.2.3"))
    change = node.sync()
    assert change.remove == []
    [flow] = change.put
    assert line(flow).startswith("table=90, priority=200,ip,nw_src=172.16.2.3 actions=")
    assert len(flow.actions) == 5

    node.apply(deleted=(k8s.pod("x", "b2", {"app": "b"}, node="n2", ip="172.16.2.3"),))
    change = node.sync()
    assert (change.put, [str(key[2]) for key in change.remove]) == ([], ["ip,nw_src=172.16.2.3"])


def test_reordering_rules_changes_nothing_and_editing_one_keeps_the_other():
    node = PolicyNode()
    first = {**FROM_B, "ports": [{"port": 80}]}
    second = {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 443}]}
    base(node, k8s.policy("x", "two", k8s.labels(app="a"), ingress=[first, second]))
    before = node.lines()

    node.apply(k8s.policy("x", "two", k8s.labels(app="a"), ingress=[second, first], generation=2))
    assert not node.sync()
    assert node.lines() == before

    edited = {**FROM_B, "ports": [{"port": 8080}]}
    node.apply(k8s.policy("x", "two", k8s.labels(app="a"), ingress=[second, edited], generation=3))
    change = node.sync()
    touched = {line(flow) for flow in change.put} | {str(key[2]) for key in change.remove}
    assert not any("10.0.0.0/8" in text or "443" in text for text in touched)
    assert "table=90, priority=200,tcp,tp_dst=8080" in " ".join(touched)
    assert not any("tp_dst=80 " in text for text in node.lines())


def test_a_group_left_without_peers_drops_the_conjunction_and_gets_it_back():
    node = PolicyNode()
    base(node, k8s.policy("x", "from-b", k8s.labels(app="a"), ingress=[FROM_B]))
    b1 = k8s.pod("x", "b1", {"app": "b"}, node="n2", ip="172.16.2.2")
    node.apply(deleted=(b1,))
    node.sync()
    assert node.lines() == ["table=100, priority=200,ip,reg1=0x3 actions=drop"]
    assert len(node.allocator) == 0
    node.apply(b1)
    node.sync()
    assert len(node.lines()) == 7  # peer, pod, action flow, three metric flows, isolation


def test_a_rule_waits_for_every_group_it_names():
    node = PolicyNode()
    node.attach("x", "a", ofport=3, ip="172.16.1.2")
    member = GroupMember("x", "a", (bytes([172, 16, 1, 2]),), (), "n1")
    peer = GroupMember("x", "b", (bytes([172, 16, 2, 2]),), (), "n2")
    rule = Rule(Direction.IN, Peer(("ag",), ()), (Service(Protocol.TCP, 80, None),))
    policy = InternalNetworkPolicy("uid", PolicyReference("x", "p", "uid"), 1, (rule,), ("atg",))

    def added(kind: ObjectKind, name: str, obj: Any) -> list[NodeEvent]:
        return [NodeEvent(EventType.ADDED, kind, 1, name, obj)]

    node.store.apply(added(ObjectKind.NETWORK_POLICY, "uid", policy))
    node.sync()
    node.store.apply(added(ObjectKind.APPLIED_TO_GROUP, "atg", AppliedToGroup("atg", (member,))))
    node.sync()
    assert node.lines() == []
    node.store.apply(added(ObjectKind.ADDRESS_GROUP, "ag", AddressGroup("ag", (peer,))))
    node.sync()
    assert len(node.lines()) == 8  # peer, pod, port, action flow, three metric flows, isolation
    node.store.apply([NodeEvent(EventType.DELETED, ObjectKind.ADDRESS_GROUP, 2, "ag", None)])
    node.sync()
    assert node.lines() == []


def test_a_resync_with_the_same_state_changes_no_flow():
    node = PolicyNode()
    base(node, k8s.policy("x", "from-b", k8s.labels(app="a"), ingress=[FROM_B], egress=[FROM_B_TO]))
    before = node.lines()
    node.feed.replace()
    assert not node.sync()
    assert node.lines() == before


FROM_B_TO = {"to": [{"podSelector": k8s.labels(app="b")}], "ports": [{"port": 53, "protocol": "UDP"}]}


def test_deleting_every_policy_removes_every_flow_and_releases_every_id():
    node = PolicyNode()
    policy = k8s.policy("x", "p", k8s.labels(app="a"), ingress=[FROM_B], egress=[FROM_B_TO])
    base(node, policy)
    assert len(node.allocator) == 2
    node.apply(deleted=(policy,))
    node.sync()
    assert node.lines() == []
    assert len(node.allocator) == 0


# -- random changes, incremental against from scratch ------------------------------------------------

NAMESPACES = ("x", "y")
PODS = [(ns, f"p{i}") for ns in NAMESPACES for i in range(4)]
LABELS = st.sampled_from(["a", "b", "c"])
CONTAINER_PORT = st.builds(
    lambda name, number, protocol: {"name": name, "containerPort": number, "protocol": protocol},
    st.sampled_from(["http", "dns"]),
    st.sampled_from([80, 8080, 53]),
    st.sampled_from(["TCP", "UDP"]),
)
PORTS = st.lists(CONTAINER_PORT, max_size=2, unique_by=lambda p: (p["name"], p["protocol"]))
PEER = st.one_of(
    st.builds(lambda app: {"podSelector": k8s.labels(app=app)}, LABELS),
    st.builds(lambda ns: {"namespaceSelector": k8s.labels(team=ns)}, st.sampled_from(["red", "blue"])),
    st.sampled_from(
        [
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
            {"ipBlock": {"cidr": "172.16.2.0/24"}},
        ]
    ),
)
POLICY_PORT = st.sampled_from(
    [{"port": 80}, {"port": "http"}, {"protocol": "UDP", "port": "dns"}, {"port": 8000, "endPort": 8100}]
)
RULE = st.fixed_dictionaries(
    {}, optional={"peers": st.lists(PEER, max_size=2), "ports": st.lists(POLICY_PORT, max_size=2)}
)


def _rule(direction: str, spec: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if "peers" in spec:
        rule["from" if direction == "Ingress" else "to"] = spec["peers"]
    if "ports" in spec:
        rule["ports"] = spec["ports"]
    return rule


POLICY = st.builds(
    lambda ns, name, app, ingress, egress, types: k8s.policy(
        ns, name, k8s.labels(app=app),
        ingress=[_rule("Ingress", r) for r in ingress], egress=[_rule("Egress", r) for r in egress],
        policy_types=types,
    ),
    st.sampled_from(NAMESPACES), st.sampled_from(["p1", "p2", "p3"]), LABELS,
    st.lists(RULE, max_size=2), st.lists(RULE, max_size=2),
    st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
)  # fmt: skip


CNP_PEER = st.one_of(
    st.builds(lambda team: {"namespaces": k8s.labels(team=team)}, st.sampled_from(["red", "blue"])),
    st.builds(lambda app: {"pods": {"namespaceSelector": {}, "podSelector": k8s.labels(app=app)}}, LABELS),
    st.sampled_from([{"networks": ["10.0.0.0/8"]}, {"networks": ["172.16.2.0/24", "172.16.1.10/32"]}]),
)
CNP_PORTS = st.sampled_from([
    None, [{"tcp": {"destinationPort": {"number": 80}}}], [{"destinationNamedPort": "http"}],
    [{"udp": {"destinationPort": {"range": {"start": 50, "end": 60}}}}],
])  # fmt: skip


def _cnp_rule(peers_key: str) -> st.SearchStrategy[dict[str, Any]]:
    def build(action: str, peers: list[dict[str, Any]], ports: list[dict[str, Any]] | None) -> dict[str, Any]:
        if peers_key == "from":
            peers = [p for p in peers if "networks" not in p] or [{"namespaces": {}}]
        return {"action": action, peers_key: peers, **({"protocols": ports} if ports else {})}

    return st.builds(
        build,
        st.sampled_from(["Accept", "Deny", "Pass"]),
        st.lists(CNP_PEER, min_size=1, max_size=2),
        CNP_PORTS,
    )


CLUSTER_POLICY = st.builds(
    lambda name, tier, priority, app, ingress, egress: k8s.cluster_policy(
        name, tier, priority, {"pods": {"namespaceSelector": {}, "podSelector": k8s.labels(app=app)}},
        ingress=ingress, egress=egress,
    ),
    st.sampled_from(["c1", "c2"]), st.sampled_from(["Admin", "Baseline"]), st.integers(0, 2), LABELS,
    st.lists(_cnp_rule("from"), max_size=2), st.lists(_cnp_rule("to"), max_size=2),
)  # fmt: skip


def _pod(ns: str, name: str, app: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    index = PODS.index((ns, name))
    node = "n1" if index % 2 == 0 else "n2"
    return k8s.pod(ns, name, {"app": app}, node=node, ip=f"172.16.{1 + index % 2}.{10 + index}", ports=ports)


STEP = st.one_of(
    st.builds(lambda pod, app, ports: ("pod", _pod(*pod, app, ports)), st.sampled_from(PODS), LABELS, PORTS),
    st.builds(lambda pod: ("delete", _pod(*pod, "a", [])), st.sampled_from(PODS)),
    st.builds(lambda policy: ("policy", policy), POLICY),
    st.builds(lambda policy: ("policy", policy), CLUSTER_POLICY),
    st.builds(lambda name: ("unpolicy", k8s.cluster_policy(name, "Admin", 0, {"namespaces": {}})),
              st.sampled_from(["c1", "c2"])),
    st.builds(lambda ns, team: ("namespace", k8s.namespace(ns, team=team)), st.sampled_from(NAMESPACES),
              st.sampled_from(["red", "blue"])),
    st.builds(lambda pod: ("attach", pod), st.sampled_from(PODS)),
    st.builds(lambda pod: ("detach", pod), st.sampled_from(PODS)),
    st.builds(lambda ns, name: ("unpolicy", k8s.policy(ns, name)), st.sampled_from(NAMESPACES),
              st.sampled_from(["p1", "p2", "p3"])),
)  # fmt: skip


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def _attach(node: PolicyNode, pod: tuple[str, str]) -> None:
    index = PODS.index(pod)
    node.attach(*pod, ofport=10 + index, ip=f"172.16.1.{10 + index}")


def canonical(node: PolicyNode) -> list[str]:
    """The node's flows with each conjunction id replaced by its rule id and port set."""
    names: dict[int, str] = {}
    for rule_id in node.store.rules():
        realized = node.reconciler.realized(rule_id)
        if realized is not None:
            for ports, conjunction in realized.conjunctions.items():
                names[conjunction.id] = f"{rule_id}:{ports}"

    def rename(match: re.Match[str]) -> str:
        return match.group(1) + names[int(match.group(2), 0)]

    pattern = re.compile(r"(conjunction\(|conj_id=|set_field:|reg[56]=)(0x[0-9a-f]+|\d+)(?=,|->reg[56]|\s)")
    label = re.compile(r"ct_label=(0x[0-9a-f]+)/(0x[0-9a-f]+)")

    def rename_label(match: re.Match[str]) -> str:
        value, mask = int(match.group(1), 0), int(match.group(2), 0)
        shift = (mask & -mask).bit_length() - 1  # the half of the label the rule's id is in
        return f"ct_label={names[value >> shift]}/{match.group(2)}"

    def canonical_line(text: str) -> str:
        renamed = label.sub(rename_label, pattern.sub(rename, text))
        head, _, actions = renamed.partition(" actions=")
        if actions.startswith("conjunction("):  # ordered by conj_id, which differ
            actions = ",".join(sorted(re.findall(r"conjunction\([^)]*\)", actions)))
        return f"{head} actions={actions}"

    return sorted(canonical_line(text) for text in node.lines())


@settings(max_examples=60, deadline=None)
@given(
    pods=st.lists(st.tuples(LABELS, PORTS), min_size=len(PODS), max_size=len(PODS)),
    policies=st.lists(st.one_of(POLICY, CLUSTER_POLICY), min_size=1, max_size=3, unique_by=_key),
    steps=st.lists(st.lists(STEP, min_size=1, max_size=3), min_size=1, max_size=6),
)
def test_incremental_updates_end_where_a_fresh_computation_starts(pods, policies, steps):
    node = PolicyNode()
    initial = [
        k8s.node("n1"),
        k8s.node("n2"),
        k8s.namespace("x", team="red"),
        k8s.namespace("y", team="blue"),
    ]
    initial += [_pod(*pod, app, ports) for pod, (app, ports) in zip(PODS, pods, strict=True)]
    initial += policies
    world = {_key(obj): obj for obj in initial}
    node.apply(*initial)
    attached = set(PODS[::2])  # the pods of n1
    for pod in attached:
        _attach(node, pod)
    node.sync()
    flows_seen = len(node.lines())
    for batch in steps:
        for kind, value in batch:
            if kind == "attach" and value not in attached:
                attached.add(value)
                _attach(node, value)
            elif kind == "detach" and value in attached:
                attached.discard(value)
                node.detach(*value)
            elif kind in ("delete", "unpolicy"):
                if world.pop(_key(value), None) is not None:
                    node.apply(deleted=(value,))
            elif kind in ("pod", "policy", "namespace"):
                world[_key(value)] = value
                node.apply(value)
        node.sync()
        flows_seen += len(node.lines())

    fresh = PolicyNode()
    fresh.apply(*world.values())
    for pod in sorted(attached):
        _attach(fresh, pod)
    fresh.sync()
    assert canonical(node) == canonical(fresh)
    assert len(node.allocator) == len(fresh.allocator)
    event("flows along the way: " + ("none" if not flows_seen else "some"))


def test_a_replace_after_random_changes_is_a_fresh_start():
    node = PolicyNode()
    base(node, k8s.policy("x", "p", k8s.labels(app="a"), ingress=[FROM_B]))
    snapshot = PolicySnapshot({}, {}, {})
    node.store.replace(snapshot, StateSource.FILES)
    node.sync()
    assert node.lines() == []
    assert len(node.allocator) == 0
