"""NetworkPolicy v1 semantics, one table row per rule of the spec: exact members, spans, rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controlplane import k8s
from tests.controlplane.cluster import Cluster, pod_names

ALL = ("0.0.0.0/0", "::/0")
NS = [
    k8s.namespace("prod", env="prod", team="a"),
    k8s.namespace("dev", env="dev", team="b"),
    k8s.namespace("ops"),
]
NODES = [k8s.node("n1"), k8s.node("n2"), k8s.node("n3")]
HTTP = [{"name": "http", "containerPort": 80}]
PODS = [
    k8s.pod("prod", "web1", {"app": "web", "tier": "fe"}, node="n1", ip="10.0.1.1", ports=HTTP),
    k8s.pod("prod", "web2", {"app": "web"}, node="n2", ip="10.0.1.2"),
    k8s.pod("prod", "db", {"app": "db", "tier": "be"}, node="n3", ip="10.0.1.3"),
    k8s.pod("dev", "web", {"app": "web"}, node="n1", ip="10.0.2.1"),
    k8s.pod("dev", "tool", {}, node="n2", ip="10.0.2.2"),
    k8s.pod("ops", "mon", {"app": "mon"}, node="n3", ip="10.0.3.1"),
]
EVERY_POD = {"prod/web1", "prod/web2", "prod/db", "dev/web", "dev/tool", "ops/mon"}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return {"matchExpressions": [expression]}


def ingress_from(*peers: dict[str, Any], ports: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {"from": list(peers)}
    if ports:
        rule["ports"] = ports
    return [rule]


# (id, policies, policy "ns/name", expected applied-to pods, expected span, expected rules)
# A rule is (direction, peer pods, ipBlocks, services (protocol, port, endPort)).
CASES = [
    (
        "matchLabels",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="web"),
                ingress=ingress_from({"podSelector": k8s.labels(tier="be")}),
            )
        ],
        {"prod/web1", "prod/web2"},
        {"n1", "n2"},
        [("In", {"prod/db"}, (), ())],
    ),
    (
        "matchExpressions In",
        [k8s.policy("prod", "p", expr("app", "In", "web", "db"), policy_types=["Ingress"])],
        {"prod/web1", "prod/web2", "prod/db"},
        {"n1", "n2", "n3"},
        [("In", set(), (), ())],
    ),
    (
        "matchExpressions NotIn matches pods without the key",
        [k8s.policy("dev", "p", expr("app", "NotIn", "web"))],
        {"dev/tool"},
        {"n2"},
        [("In", set(), (), ())],
    ),
    (
        "matchExpressions Exists",
        [k8s.policy("prod", "p", expr("tier", "Exists"))],
        {"prod/web1", "prod/db"},
        {"n1", "n3"},
        [("In", set(), (), ())],
    ),
    (
        "matchExpressions DoesNotExist",
        [k8s.policy("prod", "p", expr("tier", "DoesNotExist"))],
        {"prod/web2"},
        {"n2"},
        [("In", set(), (), ())],
    ),
    (
        "matchLabels and matchExpressions together",
        [k8s.policy("prod", "p", {"matchLabels": {"app": "web"}, **expr("tier", "In", "fe")})],
        {"prod/web1"},
        {"n1"},
        [("In", set(), (), ())],
    ),
    (
        "empty podSelector selects the whole namespace",
        [k8s.policy("prod", "p", {}, ingress=ingress_from({"podSelector": {}}))],
        {"prod/web1", "prod/web2", "prod/db"},
        {"n1", "n2", "n3"},
        [("In", {"prod/web1", "prod/web2", "prod/db"}, (), ())],
    ),
    (
        "podSelector peer alone stays in the policy's namespace",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from({"podSelector": k8s.labels(app="web")}),
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", {"prod/web1", "prod/web2"}, (), ())],
    ),
    (
        "namespaceSelector peer alone selects every pod of those namespaces",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from({"namespaceSelector": k8s.labels(env="dev")}),
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", {"dev/web", "dev/tool"}, (), ())],
    ),
    (
        "empty namespaceSelector selects every namespace, labelled or not",
        [k8s.policy("prod", "p", k8s.labels(app="db"), ingress=ingress_from({"namespaceSelector": {}}))],
        {"prod/db"},
        {"n3"},
        [("In", EVERY_POD, (), ())],
    ),
    (
        "namespaceSelector and podSelector in one peer",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from(
                    {"namespaceSelector": expr("team", "Exists"), "podSelector": k8s.labels(app="web")}
                ),
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", {"prod/web1", "prod/web2", "dev/web"}, (), ())],
    ),
    (
        "two peers in one rule add up",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from(
                    {"podSelector": k8s.labels(app="web")}, {"namespaceSelector": k8s.labels(env="dev")}
                ),
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", {"prod/web1", "prod/web2", "dev/web", "dev/tool"}, (), ())],
    ),
    (
        "ipBlock with except",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from(
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}
                ),
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", set(), ("10.0.0.0/8 except 10.1.0.0/16,10.2.0.0/16",), ())],
    ),
    (
        "ipBlock IPv6, host bits cleared",
        [
            k8s.policy(
                "prod", "p", k8s.labels(app="db"), egress=[{"to": [{"ipBlock": {"cidr": "fd00::1/64"}}]}]
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", set(), (), ()), ("Out", set(), ("fd00::/64",), ())],
    ),
    (
        "ports: protocols, numeric, named, endPort",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from(
                    {"podSelector": k8s.labels(app="web")},
                    ports=[
                        {"port": 80},
                        {"protocol": "UDP", "port": 53},
                        {"protocol": "SCTP", "port": 9000},
                        {"port": "http"},
                        {"protocol": "TCP", "port": 8000, "endPort": 8080},
                        {"protocol": "UDP"},
                    ],
                ),
            )
        ],
        {"prod/db"},
        {"n3"},
        [
            (
                "In",
                {"prod/web1", "prod/web2"},
                (),
                (
                    ("TCP", 80, None),
                    ("UDP", 53, None),
                    ("SCTP", 9000, None),
                    ("TCP", "http", None),
                    ("TCP", 8000, 8080),
                    ("UDP", None, None),
                ),
            )
        ],
    ),
    (
        "policyTypes default to Ingress without egress rules",
        [k8s.policy("prod", "p", k8s.labels(app="db"), ingress=[{"from": [{"podSelector": {}}]}])],
        {"prod/db"},
        {"n3"},
        [("In", {"prod/web1", "prod/web2", "prod/db"}, (), ())],
    ),
    (
        "policyTypes default to Ingress and Egress with egress rules",
        [
            k8s.policy(
                "prod", "p", k8s.labels(app="db"), egress=[{"to": [{"podSelector": k8s.labels(app="web")}]}]
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", set(), (), ()), ("Out", {"prod/web1", "prod/web2"}, (), ())],
    ),
    (
        "explicit policyTypes ignore rules of unlisted directions",
        [
            k8s.policy(
                "prod",
                "p",
                k8s.labels(app="db"),
                ingress=ingress_from({"podSelector": {}}),
                egress=[{"to": [{"podSelector": {}}]}],
                policy_types=["Egress"],
            )
        ],
        {"prod/db"},
        {"n3"},
        [("Out", {"prod/web1", "prod/web2", "prod/db"}, (), ())],
    ),
    (
        "empty from allows everyone",
        [k8s.policy("prod", "p", k8s.labels(app="db"), ingress=[{}])],
        {"prod/db"},
        {"n3"},
        [("In", set(), ALL, ())],
    ),
    (
        "empty from with ports allows everyone on those ports",
        [k8s.policy("prod", "p", k8s.labels(app="db"), ingress=[{"ports": [{"port": "http"}]}])],
        {"prod/db"},
        {"n3"},
        [("In", set(), ALL, (("TCP", "http", None),))],
    ),
    (
        "empty to allows everyone",
        [
            k8s.policy(
                "prod", "p", k8s.labels(app="db"), egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}]
            )
        ],
        {"prod/db"},
        {"n3"},
        [("In", set(), (), ()), ("Out", set(), ALL, (("UDP", 53, None),))],
    ),
    (
        "empty to with a named port becomes every pod, to resolve the name",
        [k8s.policy("prod", "p", k8s.labels(app="db"), egress=[{"ports": [{"port": "http"}]}])],
        {"prod/db"},
        {"n3"},
        [("In", set(), (), ()), ("Out", EVERY_POD, (), (("TCP", "http", None),))],
    ),
    (
        "listed policyTypes without rules deny all",
        [k8s.policy("prod", "p", {}, policy_types=["Ingress", "Egress"])],
        {"prod/web1", "prod/web2", "prod/db"},
        {"n1", "n2", "n3"},
        [("In", set(), (), ()), ("Out", set(), (), ())],
    ),
    (
        "ingress: [] is no rules: deny all ingress",
        [k8s.policy("prod", "p", {}, ingress=[])],
        {"prod/web1", "prod/web2", "prod/db"},
        {"n1", "n2", "n3"},
        [("In", set(), (), ())],
    ),
]


@pytest.mark.parametrize(
    ("policies", "expected_applied", "expected_span", "expected_rules"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_policy_semantics(policies, expected_applied, expected_span, expected_rules):
    cluster = Cluster()
    cluster.apply(*NS, *NODES, *PODS, *policies)
    (view,) = cluster.describe().values()
    assert view["applied_to"] == expected_applied
    assert view["span"] == expected_span
    assert view["rules"] == expected_rules


@pytest.mark.parametrize(
    "pod",
    [
        k8s.pod("prod", "x", {"app": "web"}, host_network=True),
        k8s.pod("prod", "x", {"app": "web"}, node=""),
        k8s.pod("prod", "x", {"app": "web"}, ip=None),
        k8s.pod("prod", "x", {"app": "web"}, phase="Succeeded"),
        k8s.pod("prod", "x", {"app": "web"}, phase="Failed"),
    ],
    ids=["hostNetwork", "unscheduled", "no IP", "Succeeded", "Failed"],
)
def test_pods_that_are_not_members(pod):
    cluster = Cluster()
    policy = k8s.policy(
        "prod", "p", k8s.labels(app="web"), ingress=ingress_from({"podSelector": k8s.labels(app="web")})
    )
    cluster.apply(*NS, *NODES, *PODS, pod, policy)
    view = cluster.describe()["prod/p"]
    assert view["applied_to"] == {"prod/web1", "prod/web2"}
    assert view["rules"][0][1] == {"prod/web1", "prod/web2"}


@pytest.mark.parametrize("phase", ["Pending", "Running", "Unknown"])
def test_scheduled_pods_with_an_ip_are_members_in_any_live_phase(phase):
    cluster = Cluster()
    cluster.apply(*NS, *NODES, k8s.pod("prod", "x", {"app": "web"}, phase=phase), k8s.policy("prod", "p"))
    assert cluster.describe()["prod/p"]["applied_to"] == {"prod/x"}


def test_several_policies_on_a_pod_add_up():
    cluster = Cluster()
    cluster.apply(
        *NS,
        *NODES,
        *PODS,
        k8s.policy(
            "prod", "a", k8s.labels(app="web"), ingress=ingress_from({"podSelector": k8s.labels(app="db")})
        ),
        k8s.policy(
            "prod",
            "b",
            k8s.labels(tier="fe"),
            ingress=ingress_from({"namespaceSelector": k8s.labels(env="dev")}),
        ),
    )
    views = cluster.describe()
    assert "prod/web1" in views["prod/a"]["applied_to"] & views["prod/b"]["applied_to"]
    assert views["prod/a"]["rules"] == [("In", {"prod/db"}, (), ())]
    assert views["prod/b"]["rules"] == [("In", {"dev/web", "dev/tool"}, (), ())]


def test_same_selector_in_many_policies_is_one_group():
    cluster = Cluster()
    peer_a = {"podSelector": k8s.labels(app="web")}
    peer_b = {"podSelector": expr("app", "In", "web")}
    cluster.apply(
        *NS,
        *NODES,
        *PODS,
        k8s.policy("prod", "a", k8s.labels(app="db"), ingress=ingress_from(peer_a)),
        k8s.policy("prod", "b", expr("app", "In", "db"), ingress=ingress_from(peer_b)),
    )
    a, b = (policy for policy, _ in cluster.store.policies().values())
    assert a.applied_to_groups == b.applied_to_groups
    assert a.rules[0].peer.address_groups == b.rules[0].peer.address_groups
    assert len(cluster.store.address_groups()) == 1
    assert len(cluster.store.applied_to_groups()) == 1


def test_same_selector_in_two_namespaces_is_two_groups():
    cluster = Cluster()
    cluster.apply(
        *NS,
        *NODES,
        *PODS,
        k8s.policy("prod", "a", k8s.labels(app="web")),
        k8s.policy("dev", "a", k8s.labels(app="web")),
    )
    assert len(cluster.store.applied_to_groups()) == 2


def test_spans():
    """ATG span = nodes of its members; policy span = its ATG's; AG span = union of its policies'."""
    cluster = Cluster()
    peer = ingress_from({"namespaceSelector": {}, "podSelector": k8s.labels(app="mon")})
    cluster.apply(
        *NS,
        *NODES,
        *PODS,
        k8s.policy("prod", "a", k8s.labels(app="web"), ingress=peer),
        k8s.policy("prod", "b", k8s.labels(app="db"), ingress=peer),
        k8s.policy("prod", "c", k8s.labels(app="nothing"), ingress=peer),
    )
    views = cluster.describe()
    assert views["prod/a"]["span"] == {"n1", "n2"}
    assert views["prod/b"]["span"] == {"n3"}
    assert views["prod/c"]["span"] == set()
    ((members, span),) = cluster.store.address_groups().values()
    assert pod_names(members) == {"ops/mon"}
    assert span == {"n1", "n2", "n3"}


def test_members_carry_ips_named_ports_and_node():
    cluster = Cluster()
    cluster.apply(*NS, *NODES, *PODS, k8s.policy("prod", "p", k8s.labels(tier="fe")))
    ((members, _),) = cluster.store.applied_to_groups().values()
    (member,) = members
    assert (member.namespace, member.name, member.node) == ("prod", "web1", "n1")
    assert member.ips == (bytes([10, 0, 1, 1]),)
    assert [(p.name, p.port, p.protocol.value) for p in member.ports] == [("http", 80, "TCP")]


def test_span_holds_only_nodes_that_exist():
    cluster = Cluster()
    cluster.apply(
        *NS, k8s.node("n1"), k8s.pod("prod", "a", node="n1"), k8s.pod("prod", "b", node="n9", ip="10.0.0.9")
    )
    cluster.apply(k8s.policy("prod", "p"))
    assert cluster.describe()["prod/p"] == {
        "applied_to": {"prod/a", "prod/b"},
        "span": {"n1"},
        "rules": [("In", set(), (), ())],
    }
    cluster.apply(k8s.node("n9"))
    assert cluster.describe()["prod/p"]["span"] == {"n1", "n9"}
    cluster.delete("Node", "n1")
    assert cluster.describe()["prod/p"]["span"] == {"n9"}


def test_internal_policy_identity():
    cluster = Cluster()
    cluster.apply(*NS, k8s.policy("prod", "p", uid="1234", generation=7))
    ((policy, _),) = cluster.store.policies().values()
    assert policy.name == "1234"
    assert (policy.source_ref.namespace, policy.source_ref.name, policy.source_ref.uid) == (
        "prod",
        "p",
        "1234",
    )
    assert policy.generation == 7


def test_invalid_policy_is_reported_and_the_others_keep_working():
    cluster = Cluster()
    bad = k8s.policy("prod", "bad", ingress=ingress_from({"ipBlock": {"cidr": "10.0.0.0/33"}}))
    good = k8s.policy("prod", "good", k8s.labels(app="db"))
    cluster.apply(*NS, *NODES, *PODS, bad, good)
    assert set(cluster.describe()) == {"prod/good"}
    (invalid,) = cluster.engine.invalid_policies()
    assert (invalid.namespace, invalid.name) == ("prod", "bad")
    assert "spec.ingress[0].from[0].ipBlock.cidr" in invalid.error
    # Fixing it enforces it; deleting it forgets the error.
    cluster.apply(k8s.policy("prod", "bad", ingress=ingress_from({"ipBlock": {"cidr": "10.0.0.0/8"}})))
    assert set(cluster.describe()) == {"prod/good", "prod/bad"}
    assert cluster.engine.invalid_policies() == ()
    cluster.apply(bad)
    assert set(cluster.describe()) == {"prod/good"}
    cluster.delete("NetworkPolicy", "bad", "prod")
    assert cluster.engine.invalid_policies() == ()
