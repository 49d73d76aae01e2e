"""Property tests: any event sequence, in any order, synced after any events, ends in the state a
from-scratch computation gives, and every node's replay of its views ends in its snapshot.

States (namespaces, Nodes with labels and addresses, pods, NetworkPolicies and
ClusterNetworkPolicies) are drawn as whole input sets (Felix's `State` lists); the events between two states
are shuffled, and syncs are placed at random, which both splits transitions and squashes
several into one sync.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import (
    ClusterNetworkPolicy,
    ClusterPolicyPeer,
    ClusterPolicyRule,
    InvalidClusterNetworkPolicy,
    InvalidNetworkPolicy,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    PodPhase,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)
from controlplane.compute.labels import EVERYTHING, LabelSelector, Operator, Requirement, make_labels
from controlplane.store.events import StoreEvent
from controlplane.store.versioned import Store
from pyantrea_api.events import EventType, NodeEvent
from pyantrea_api.ipnet import parse_cidr
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupPatch,
    InternalNetworkPolicy,
    IPBlock,
    NamedPort,
    Protocol,
    RuleAction,
    Tier,
)
from tests.controlplane import oracle

NAMESPACES = ("a", "b", "c")
NODES = ("n1", "n2", "n3")
ALL_NODES = (*NODES, "n4")  # n4 hosts pods but never exists as a Node
PODS = tuple((ns, f"p{i}") for ns in NAMESPACES for i in range(3))
POLICIES = tuple((ns, f"q{i}") for ns in NAMESPACES for i in range(2))

SELECTORS = (
    EVERYTHING,
    LabelSelector.from_match_labels({"app": "web"}),
    LabelSelector.from_match_labels({"env": "x"}),
    LabelSelector.of([Requirement("app", Operator.IN, ("db", "web"))]),
    LabelSelector.of([Requirement("app", Operator.NOT_IN, ("web",))]),
    LabelSelector.of([Requirement("tier", Operator.EXISTS, ())]),
    LabelSelector.of([Requirement("team", Operator.DOES_NOT_EXIST, ())]),
)
# Few label sets, so pods and namespaces often share one (and the caches keyed by them matter).
LABELS = st.sampled_from(
    (
        {},
        {"app": "web"},
        {"app": "db"},
        {"app": "web", "tier": "fe"},
        {"env": "x"},
        {"env": "x", "team": "db"},
        {"tier": "x"},
    )
).map(make_labels)
namespaces = st.builds(Namespace, st.just(""), LABELS)
pods = st.builds(
    Pod,
    namespace=st.just(""),
    name=st.just(""),
    labels=LABELS,
    node_name=st.sampled_from(("", *ALL_NODES)),
    host_network=st.sampled_from((False, False, True)),
    phase=st.sampled_from((PodPhase.RUNNING, PodPhase.PENDING, PodPhase.SUCCEEDED)),
    ips=st.sampled_from(((), (bytes([10, 0, 0, 1]),), (bytes([10, 0, 0, 2]), bytes(15) + b"\x02"))),
    ports=st.sampled_from(
        ((), (NamedPort("http", 80, Protocol.TCP),), (NamedPort("http", 8080, Protocol.TCP),))
    ),
)
peers = st.one_of(
    st.builds(PolicyPeer, st.sampled_from(SELECTORS), st.none(), st.none()),
    st.builds(PolicyPeer, st.sampled_from(SELECTORS), st.sampled_from(SELECTORS), st.none()),
    st.just(PolicyPeer(None, None, IPBlock(parse_cidr("10.0.0.0/8"), (parse_cidr("10.1.0.0/16"),)))),
)
ports = st.sampled_from(
    (
        PolicyPort(Protocol.TCP, 80, None),
        PolicyPort(Protocol.UDP, None, None),
        PolicyPort(Protocol.TCP, "http", None),
        PolicyPort(Protocol.SCTP, 1000, 2000),
    )
)
rules = st.builds(PolicyRule, st.lists(peers, max_size=2).map(tuple), st.lists(ports, max_size=2).map(tuple))
policies = st.one_of(
    st.builds(
        NetworkPolicy,
        namespace=st.just(""),
        name=st.just(""),
        uid=st.sampled_from(("u1", "u2")),
        generation=st.integers(1, 2),
        pod_selector=st.sampled_from(SELECTORS),
        policy_types=st.sampled_from(
            (frozenset({Direction.IN}), frozenset({Direction.OUT}), frozenset({Direction.IN, Direction.OUT}))
        ),
        ingress=st.lists(rules, max_size=2).map(tuple),
        egress=st.lists(rules, max_size=2).map(tuple),
    ),
    st.builds(InvalidNetworkPolicy, st.just(""), st.just(""), st.just("u3"), st.just(1), st.just("bad")),
)

CLUSTER_POLICIES = ("c1", "c2")
NODE_LABELS = st.sampled_from(({}, {"role": "control"}, {"role": "worker"})).map(make_labels)
NODE_IPS = st.sampled_from(((), (bytes([192, 168, 0, 1]),), (bytes([192, 168, 0, 2]),)))
cluster_peers = st.one_of(
    st.builds(lambda s: ClusterPolicyPeer(s, None, None, (), ()), st.sampled_from(SELECTORS)),
    st.builds(
        lambda n, p: ClusterPolicyPeer(n, p, None, (), ()),
        st.sampled_from(SELECTORS),
        st.sampled_from(SELECTORS),
    ),
    st.builds(
        lambda s: ClusterPolicyPeer(None, None, s, (), ()),
        st.sampled_from(SELECTORS[:3]) | st.just(LabelSelector.from_match_labels({"role": "control"})),
    ),
    st.just(ClusterPolicyPeer(None, None, None, (parse_cidr("10.0.0.0/8"),), ())),
    st.just(ClusterPolicyPeer(None, None, None, (), ("*.example.com",))),
)
cluster_rules = st.builds(
    ClusterPolicyRule,
    st.sampled_from(("", "r")),
    st.sampled_from(tuple(RuleAction)),
    st.lists(cluster_peers, min_size=1, max_size=2).map(tuple),
    st.lists(ports, max_size=2).map(tuple),
)
cluster_policies = st.one_of(
    st.tuples(
        st.sampled_from((Tier.ADMIN, Tier.BASELINE)), st.integers(0, 3), st.sampled_from(SELECTORS),
        st.sampled_from(SELECTORS), st.lists(cluster_rules, max_size=2).map(tuple),
        st.lists(cluster_rules, max_size=2).map(tuple), st.integers(1, 2),
    ),
    st.just("invalid"),
)  # fmt: skip

Key = tuple[str, ...]


@st.composite
def states(draw: st.DrawFn) -> dict[Key, Any]:
    """One whole input set: each namespace, node, pod and policy present (a value) or absent."""
    state: dict[Key, Any] = {}
    for name in NAMESPACES:
        if draw(st.booleans()):
            state[("Namespace", name)] = Namespace(name, draw(namespaces).labels)
    for name in NODES:
        if draw(st.booleans()):
            state[("Node", name)] = Node(name, draw(NODE_LABELS), draw(NODE_IPS))
    for ns, name in PODS:
        if draw(st.booleans()):
            pod = draw(pods)
            state[("Pod", ns, name)] = Pod(
                ns, name, pod.labels, pod.node_name, pod.host_network, pod.phase, pod.ips, pod.ports
            )
    for ns, name in POLICIES:
        if draw(st.booleans()):
            policy = draw(policies)
            uid = f"{ns}/{name}/{policy.uid}"
            if isinstance(policy, InvalidNetworkPolicy):
                state[("NetworkPolicy", ns, name)] = InvalidNetworkPolicy(ns, name, uid, 1, policy.error)
            else:
                state[("NetworkPolicy", ns, name)] = NetworkPolicy(
                    ns,
                    name,
                    uid,
                    policy.generation,
                    policy.pod_selector,
                    policy.policy_types,
                    policy.ingress,
                    policy.egress,
                )
    for name in CLUSTER_POLICIES:
        if draw(st.booleans()):
            drawn = draw(cluster_policies)
            uid = f"{name}/{draw(st.sampled_from(('u1', 'u2')))}"
            if drawn == "invalid":
                state[("ClusterNetworkPolicy", name)] = InvalidClusterNetworkPolicy(name, uid, 1, "bad")
            else:
                tier, priority, ns_selector, pod_selector, ingress, egress, generation = drawn
                state[("ClusterNetworkPolicy", name)] = ClusterNetworkPolicy(
                    name, uid, generation, tier, priority, ns_selector, pod_selector, ingress, egress
                )
    return state


def send(engine: PolicyEngine, key: Key, value: Any) -> None:
    kind = key[0]
    if value is not None:
        {
            "Namespace": engine.upsert_namespace,
            "Node": engine.upsert_node,
            "Pod": engine.upsert_pod,
            "NetworkPolicy": engine.upsert_policy,
            "ClusterNetworkPolicy": engine.upsert_cluster_policy,
        }[kind](value)
    elif kind == "Namespace":
        engine.delete_namespace(key[1])
    elif kind == "Node":
        engine.delete_node(key[1])
    elif kind == "Pod":
        engine.delete_pod(key[1], key[2])
    elif kind == "ClusterNetworkPolicy":
        engine.delete_cluster_policy(key[1])
    else:
        engine.delete_policy(key[1], key[2])


def expected(state: dict[Key, Any]) -> oracle.Outputs:
    def of(kind: str) -> list[Any]:
        return [v for k, v in state.items() if k[0] == kind]

    return oracle.compute(
        of("Namespace"), of("Node"), of("Pod"), of("NetworkPolicy"), of("ClusterNetworkPolicy")
    )


class Agent:
    """What one node knows, built only from the views it is sent."""

    def __init__(self) -> None:
        self.policies: dict[str, InternalNetworkPolicy] = {}
        self.groups: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}

    def receive(self, view: NodeEvent) -> None:
        key = (view.kind.value, view.name)
        obj = view.obj
        if view.type is EventType.DELETED:
            if view.kind.value == "NetworkPolicy":
                del self.policies[view.name]
            else:
                del self.groups[key]
        elif isinstance(obj, InternalNetworkPolicy):
            assert (view.name in self.policies) == (view.type is EventType.MODIFIED)
            self.policies[view.name] = obj
        elif isinstance(obj, AddressGroup | AppliedToGroup):
            assert view.type is EventType.ADDED and key not in self.groups
            self.groups[key] = {(m.namespace, m.name): m for m in obj.members}
        else:
            assert isinstance(obj, GroupPatch) and view.type is EventType.MODIFIED
            members = self.groups[key]
            for member in obj.removed:
                assert members.pop((member.namespace, member.name)) == member
            for member in obj.added:
                assert (member.namespace, member.name) not in members
                members[(member.namespace, member.name)] = member

    def matches(self, store: Store, node: str) -> bool:
        snapshot = store.snapshot(node)
        groups = {
            ("AddressGroup", g.name): {(m.namespace, m.name): m for m in g.members}
            for g in snapshot.address_groups
        }
        groups |= {
            ("AppliedToGroup", g.name): {(m.namespace, m.name): m for m in g.members}
            for g in snapshot.applied_to_groups
        }
        return self.policies == {p.name: p for p in snapshot.policies} and self.groups == groups


def check_views(events: list[StoreEvent]) -> None:
    for event in events:
        by_views = {node: view for view, nodes in event.views() for node in nodes}
        assert by_views == {n: v for n in ALL_NODES if (v := event.for_node(n)) is not None}


def check_snapshots_follow_spans(store: Store, outputs: oracle.Outputs) -> None:
    for node in ALL_NODES:
        snapshot = store.snapshot(node)
        assert {p.name for p in snapshot.policies} == {
            n for n, (_, span) in outputs.policies.items() if node in span
        }
        assert {g.name for g in snapshot.address_groups} == {
            n for n, (_, span) in outputs.address_groups.items() if node in span
        }
        for group in snapshot.applied_to_groups:
            members, span = outputs.applied_to_groups[group.name]
            assert node in span
            assert frozenset(group.members) == {m for m in members if m.node == node}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_incremental_equals_from_scratch(data: st.DataObject) -> None:
    sequence = data.draw(st.lists(states(), min_size=1, max_size=4), label="states")
    engine, store = PolicyEngine(), Store()
    agents = {node: Agent() for node in ALL_NODES}
    current: dict[Key, Any] = {}

    def sync() -> None:
        events = store.apply(engine.sync())
        versions = [e.resource_version for e in events]
        assert versions == sorted(set(versions))
        check_views(events)
        for node, agent in agents.items():
            for event in events:
                if (view := event.for_node(node)) is not None:
                    agent.receive(view)
        outputs = expected(current)
        assert oracle.store_outputs(store) == outputs
        # Snapshots from the first sync on, so the node index is also kept up to date, not only built.
        check_snapshots_follow_spans(store, outputs)
        # Each AddressGroup recomputed from scratch (Antrea's syncAddressGroup) agrees with the patches.
        for name in store.address_groups():
            full = engine.full_address_group(name)
            assert full is not None, name
            assert store.sync_address_group(*full) == [], name

    for state in sequence:
        keys = sorted(set(current) | set(state))
        changes = [(k, state.get(k)) for k in keys if current.get(k) != state.get(k)]
        changes = data.draw(st.permutations(changes), label="order")
        for key, value in changes:
            send(engine, key, value)
            if value is None:
                current.pop(key)
            else:
                current[key] = value
            if data.draw(st.booleans(), label="sync here"):
                sync()
        if data.draw(st.booleans(), label="sync at state"):
            sync()
    sync()
    outputs = oracle.store_outputs(store)
    for node, agent in agents.items():
        assert agent.matches(store, node), node
    check_snapshots_follow_spans(store, outputs)
    # A fresh engine handed the final objects at once (a bulk load) computes the same.
    fresh_engine, fresh_store = PolicyEngine(), Store()
    for key, value in current.items():
        send(fresh_engine, key, value)
    fresh_store.apply(fresh_engine.sync())
    assert oracle.store_outputs(fresh_store) == outputs
    assert set(engine.invalid_policies()) == {
        v for v in current.values() if isinstance(v, InvalidNetworkPolicy)
    }
