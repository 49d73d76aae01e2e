"""ClusterNetworkPolicy in the controller's computation: parsing (sigs.k8s.io/network-policy-api
v0.3.0), translation into internal policies (tier, priority, actions, rule order, peers of every
kind, ports), and the engine (groups shared with NetworkPolicy, spans, node peers that follow
the Nodes)."""

from __future__ import annotations

import pytest

from controlplane.compute.changes import PolicyChange
from controlplane.compute.clustertranslate import translate_cluster
from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import InvalidClusterNetworkPolicy
from controlplane.compute.kubeparse import (
    InvalidObjectError,
    cluster_network_policy_from_k8s,
    cluster_network_policy_or_invalid,
    namespace_from_k8s,
    network_policy_from_k8s,
    node_from_k8s,
)
from controlplane.compute.translate import translate
from pyantrea_api.ipnet import format_ip, parse_cidr
from pyantrea_api.objects import Direction, IPBlock, Protocol, RuleAction, Service, Tier
from tests.controlplane import k8s
from tests.controlplane.engine_feed import upsert

ALL_NAMESPACES = {"namespaces": {}}
MONITORING = {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
KUBE_SYSTEM = {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
DB_PODS = {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}}
ANY_PODS = {"pods": {"namespaceSelector": {}, "podSelector": {}}}
TENANTS = {"namespaces": {"matchExpressions": [{"key": "tenant", "operator": "Exists"}]}}
BAD_CIDR = {"networks": ["10.0.0.0/33"]}
NETWORKS = {"networks": ["10.1.0.0/16", "192.168.0.0/24"]}


def parse(obj):
    return cluster_network_policy_from_k8s(obj)


def test_the_user_story_of_a_cluster_wide_allow_parses_as_written():
    policy = parse(
        k8s.cluster_policy(
            "allow-monitoring", "Admin", 30, ALL_NAMESPACES,
            ingress=[{"name": "from-monitoring", "action": "Accept", "from": [MONITORING]}],
            egress=[{
                "name": "to-dns", "action": "Accept",
                "to": [{"pods": {"namespaceSelector": KUBE_SYSTEM,
                                 "podSelector": {"matchLabels": {"app": "kube-dns"}}}}],
                "protocols": [{"udp": {"destinationPort": {"number": 53}}},
                              {"tcp": {"destinationPort": {"range": {"start": 8000, "end": 8080}}}},
                              {"destinationNamedPort": "web-alt"}, {"sctp": {}}],
            }],
        )
    )  # fmt: skip
    assert (policy.tier, policy.priority) == (Tier.ADMIN, 30)
    assert policy.subject_namespace_selector.text == "" and policy.subject_pod_selector.text == ""
    (ingress,) = policy.ingress
    assert (ingress.name, ingress.action) == ("from-monitoring", RuleAction.ACCEPT)
    (egress,) = policy.egress
    ports = [(p.protocol, p.port, p.end_port) for p in egress.ports]
    assert ports == [
        (Protocol.UDP, 53, None),
        (Protocol.TCP, 8000, 8080),
        (Protocol.TCP, "web-alt", None),
        (Protocol.UDP, "web-alt", None),
        (Protocol.SCTP, "web-alt", None),
        (Protocol.SCTP, None, None),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": 1001}, "spec.priority"),
        ({"priority": None}, "spec.priority"),
        ({"tier": "Emergency"}, "spec.tier"),
        ({"subject": {}}, "spec.subject"),
        ({"subject": {**ALL_NAMESPACES, **ANY_PODS}}, "spec.subject"),
        ({"ingress": [{"action": "Allow", "from": [ALL_NAMESPACES]}]}, "spec.ingress[0].action"),
        ({"ingress": [{"action": "Deny", "from": []}]}, "spec.ingress[0].from"),
        ({"egress": [{"action": "Deny", "to": [BAD_CIDR]}]}, "spec.egress[0].to[0].networks[0]"),
        ({"egress": [{"action": "Deny", "to": [ALL_NAMESPACES],
                      "protocols": [{"tcp": {"destinationPort": {"range": {"start": 90, "end": 80}}}}]}]},
         "spec.egress[0].protocols[0].tcp.destinationPort.range"),
        ({"egress": [{"action": "Deny", "to": [ALL_NAMESPACES], "protocols": [{"tcp": {}, "udp": {}}]}]},
         "spec.egress[0].protocols[0]"),
        ({"ingress": [{"action": "Deny", "from": [ALL_NAMESPACES]}] * 26}, "spec.ingress"),
    ],
)  # fmt: skip
def test_a_spec_the_api_refuses_is_an_error_naming_the_field(change, field):
    obj = k8s.cluster_policy("bad", "Admin", 1, ALL_NAMESPACES)
    for key, value in change.items():
        if value is None:
            del obj["spec"][key]
        else:
            obj["spec"][key] = value
    with pytest.raises(InvalidObjectError) as caught:
        parse(obj)
    assert caught.value.field == field
    invalid = cluster_network_policy_or_invalid(obj)
    assert isinstance(invalid, InvalidClusterNetworkPolicy)
    assert field in invalid.error and invalid.name == "bad"


def test_rules_keep_action_name_and_order_per_direction_and_the_policy_its_tier_and_priority():
    policy = parse(
        k8s.cluster_policy(
            "p", "Baseline", 7, DB_PODS,
            ingress=[{"name": "a", "action": "Pass", "from": [ALL_NAMESPACES]},
                     {"name": "b", "action": "Deny", "from": [ALL_NAMESPACES]}],
            egress=[{"name": "c", "action": "Accept", "to": [NETWORKS]}],
        )
    )  # fmt: skip
    internal = translate_cluster(policy, ()).translation.policy
    assert (internal.tier, internal.priority) == (Tier.BASELINE, 7)
    assert internal.source_ref.kind == "ClusterNetworkPolicy" and internal.source_ref.display == "p"
    shown = [(r.direction, r.name, r.action, r.index) for r in internal.rules]
    assert shown == [
        (Direction.IN, "a", RuleAction.PASS, 0),
        (Direction.IN, "b", RuleAction.DENY, 1),
        (Direction.OUT, "c", RuleAction.ACCEPT, 0),
    ]
    assert internal.rules[2].peer.ip_blocks == (
        IPBlock(parse_cidr("10.1.0.0/16"), ()),
        IPBlock(parse_cidr("192.168.0.0/24"), ()),
    )
    assert internal.rules[2].services == ()


def test_selector_peers_share_their_address_groups_with_networkpolicy():
    np = network_policy_from_k8s(
        k8s.policy("a", "np", {}, ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"env": "x"}}}]}])
    )
    cnp = parse(
        k8s.cluster_policy(
            "c", "Admin", 1, ALL_NAMESPACES,
            ingress=[{"action": "Deny", "from": [{"namespaces": {"matchLabels": {"env": "x"}}}]}],
        )
    )  # fmt: skip
    (np_group,) = translate(np).address_groups
    (cnp_group,) = translate_cluster(cnp, ()).translation.address_groups
    assert np_group == cnp_group
    assert translate_cluster(cnp, ()).translation.policy.rules[0].peer.address_groups == (np_group.name,)


def test_node_peers_are_the_selected_nodes_addresses():
    nodes = [
        node_from_k8s(k8s.node("n1", "192.168.77.1", role="control")),
        node_from_k8s(k8s.node("n2", "192.168.77.2", role="worker")),
    ]
    cnp = parse(
        k8s.cluster_policy(
            "c", "Admin", 1, ALL_NAMESPACES,
            egress=[{"action": "Deny", "to": [{"nodes": {"matchLabels": {"role": "control"}}}]},
                    {"action": "Accept", "to": [{"nodes": {}}]}],
        )
    )  # fmt: skip
    result = translate_cluster(cnp, nodes)
    assert result.uses_nodes
    control, every = result.translation.policy.rules
    assert [format_ip(b.cidr.ip) + f"/{b.cidr.prefix_len}" for b in control.peer.ip_blocks] == [
        "192.168.77.1/32"
    ]
    assert len(every.peer.ip_blocks) == 2


def test_domain_names_reach_the_agent_normalized_and_unknown_peers_fail_closed():
    cnp = parse(
        k8s.cluster_policy(
            "c", "Admin", 1, ALL_NAMESPACES,
            egress=[{"name": "dns", "action": "Accept",
                     "to": [{"domainNames": ["*.Example.com.", "api.example.org"]}]},
                    {"name": "future-accept", "action": "Accept", "to": [{"services": {}}]},
                    {"name": "future-deny", "action": "Deny", "to": [{"services": {}}]}],
        )
    )  # fmt: skip
    result = translate_cluster(cnp, ())
    dns, future_accept, future_deny = result.translation.policy.rules
    assert dns.peer.ip_blocks == () and dns.peer.address_groups == ()
    assert dns.peer.fqdns == ("*.example.com", "api.example.org")
    assert future_accept.peer.ip_blocks == ()
    assert {str(b.cidr) for b in future_deny.peer.ip_blocks} == {"0.0.0.0/0", "::/0"}
    assert len(result.unenforced) == 2
    assert "egress[1] (future-accept)" in result.unenforced[0]
    assert not any("example" in note for note in result.unenforced)


def test_a_domain_name_the_api_would_refuse_is_named():
    with pytest.raises(InvalidObjectError, match=r"egress\[0\]\.to\[0\]\.domainNames\[1\]"):
        parse(
            k8s.cluster_policy(
                "c", "Admin", 1, ALL_NAMESPACES,
                egress=[{"action": "Accept", "to": [{"domainNames": ["ok.example.com", "*example.com"]}]}],
            )
        )  # fmt: skip


def engine_with(*objects):
    engine = PolicyEngine()
    for obj in objects:
        upsert(engine, obj)
    return engine


def policy_changes(changes):
    return {c.name: c for c in changes if isinstance(c, PolicyChange)}


def test_the_span_is_the_nodes_of_the_subject_pods_as_for_networkpolicy():
    engine = engine_with(
        k8s.namespace("a", tenant="t1"),
        k8s.namespace("b"),
        k8s.node("n1"),
        k8s.node("n2"),
        k8s.node("n3"),
        k8s.pod("a", "web", {"app": "web"}, node="n1", ip="10.0.1.2"),
        k8s.pod("b", "web", {"app": "web"}, node="n2", ip="10.0.2.2"),
        k8s.cluster_policy(
            "tenants", "Admin", 5, TENANTS,
            ingress=[{"action": "Deny", "from": [ALL_NAMESPACES]}],
        ),
    )  # fmt: skip
    change = policy_changes(engine.sync())["uid-tenants"]
    assert change.span == {"n1"}
    assert change.policy is not None and change.policy.tier is Tier.ADMIN
    engine.upsert_namespace(namespace_from_k8s(k8s.namespace("b", tenant="t2")))
    assert policy_changes(engine.sync())["uid-tenants"].span == {"n1", "n2"}
    engine.delete_cluster_policy("tenants")
    gone = policy_changes(engine.sync())["uid-tenants"]
    assert gone.policy is None


def test_a_node_peer_follows_the_nodes_labels_and_addresses():
    policy = k8s.cluster_policy(
        "to-control", "Baseline", 1, ALL_NAMESPACES,
        egress=[{"action": "Deny", "to": [{"nodes": {"matchLabels": {"role": "control"}}}]}],
    )  # fmt: skip
    engine = engine_with(
        k8s.namespace("a"),
        k8s.node("n1", "192.168.77.1", role="control"),
        k8s.node("n2", "192.168.77.2"),
        k8s.pod("a", "web", {}, node="n2", ip="10.0.2.2"),
        policy,
    )
    first = policy_changes(engine.sync())["uid-to-control"].policy
    assert [str(b.cidr) for b in first.rules[0].peer.ip_blocks] == ["192.168.77.1/32"]
    engine.upsert_node(node_from_k8s(k8s.node("n2", "192.168.77.2", role="control")))
    second = policy_changes(engine.sync())["uid-to-control"].policy
    assert [str(b.cidr) for b in second.rules[0].peer.ip_blocks] == ["192.168.77.1/32", "192.168.77.2/32"]
    engine.upsert_node(node_from_k8s(k8s.node("n2", "192.168.77.2", role="control")))
    assert "uid-to-control" not in policy_changes(engine.sync())


def test_an_invalid_cluster_policy_is_reported_and_not_enforced():
    engine = engine_with(
        k8s.namespace("a"),
        k8s.node("n1"),
        k8s.pod("a", "web", {}, node="n1", ip="10.0.1.2"),
        k8s.cluster_policy(
            "ok", "Admin", 1, ALL_NAMESPACES, ingress=[{"action": "Deny", "from": [ALL_NAMESPACES]}]
        ),
    )
    assert "uid-ok" in policy_changes(engine.sync())
    bad = k8s.cluster_policy("ok", "Admin", 5000, ALL_NAMESPACES)
    engine.upsert_cluster_policy(cluster_network_policy_or_invalid(bad))
    assert policy_changes(engine.sync())["uid-ok"].policy is None
    assert [p.name for p in engine.invalid_cluster_policies()] == ["ok"]


def test_services_of_a_rule_are_unique():
    cnp = parse(
        k8s.cluster_policy(
            "c", "Admin", 1, ALL_NAMESPACES,
            ingress=[{"action": "Deny", "from": [ALL_NAMESPACES],
                      "protocols": [{"tcp": {"destinationPort": {"number": 80}}}] * 2}],
        )
    )  # fmt: skip
    assert translate_cluster(cnp, ()).translation.policy.rules[0].services == (
        Service(Protocol.TCP, 80, None),
    )


def test_tier_priority_and_rule_actions_cross_the_wire():
    from pyantrea_api.convert import policy_from_proto, policy_to_proto

    cnp = parse(
        k8s.cluster_policy(
            "c", "Baseline", 999, ALL_NAMESPACES,
            ingress=[{"name": "x", "action": "Pass", "from": [ALL_NAMESPACES]},
                     {"name": "y", "action": "Deny", "from": [ALL_NAMESPACES]}],
            egress=[{"name": "z", "action": "Accept", "to": [{"networks": ["10.0.0.0/8"]}]}],
        )
    )  # fmt: skip
    internal = translate_cluster(cnp, ()).translation.policy
    message = policy_to_proto(internal)
    assert policy_from_proto(type(message).FromString(message.SerializeToString())) == internal
