"""Golden flows: each NetworkPolicy rule shape, from Kubernetes objects through the controller's
computation, the rule cache and the reconciler, to flows as ovs-ofctl prints them.

Node n1 (pod subnet 172.16.1.0/24) hosts x/a (ofport 3) and, where a test attaches them, more
pods; n2 hosts the peers. Conjunction ids come from a fresh allocator, so they read 1, 2, 3...
"""

from __future__ import annotations

from typing import Any

from tests.controlplane import k8s
from tests.policy.node import PolicyNode, sort_lines

ACTION_IN = "actions=set_field:{0:#x}->reg6,resubmit(,101)"
ACTION_OUT = "actions=set_field:{0:#x}->reg5,resubmit(,61)"


def metrics_in(conj_id: int) -> list[str]:
    """The metric flows counting an ingress conjunction (replies in EgressMetric)."""
    label = f"{conj_id:#x}/0xffffffff"
    return [
        f"table=61, priority=200,ct_state=+rpl+trk,ct_label={label},ip actions=resubmit(,70)",
        f"table=101, priority=200,ct_state=+new+trk,ip,reg6={conj_id:#x} actions=resubmit(,105)",
        f"table=101, priority=200,ct_state=-new-rpl+trk,ct_label={label},ip actions=resubmit(,105)",
    ]


def metrics_out(conj_id: int) -> list[str]:
    """The metric flows counting an egress conjunction (replies in IngressMetric)."""
    label = f"{conj_id << 32:#x}/0xffffffff00000000"
    return [
        f"table=61, priority=200,ct_state=+new+trk,ip,reg5={conj_id:#x} actions=resubmit(,70)",
        f"table=61, priority=200,ct_state=-new-rpl+trk,ct_label={label},ip actions=resubmit(,70)",
        f"table=101, priority=200,ct_state=+rpl+trk,ct_label={label},ip actions=resubmit(,105)",
    ]


def port(name: str, number: int, protocol: str = "TCP") -> dict[str, Any]:
    return {"name": name, "containerPort": number, "protocol": protocol}


def world(*extra: dict[str, Any]) -> PolicyNode:
    """Namespaces x, y, z; x/a on n1 (attached as ofport 3); peers x/b, y/b, y/c on n2."""
    node = PolicyNode("n1")
    node.apply(
        k8s.node("n1"),
        k8s.node("n2"),
        k8s.namespace("x", ns="x"),
        k8s.namespace("y", ns="y"),
        k8s.namespace("z", ns="z"),
        k8s.pod("x", "a", {"app": "a"}, node="n1", ip="172.16.1.2", ports=[port("http", 80)]),
        k8s.pod("x", "b", {"app": "b"}, node="n2", ip="172.16.2.2"),
        k8s.pod("y", "b", {"app": "b"}, node="n2", ip="172.16.2.3", ports=[port("dns", 53, "UDP")]),
        k8s.pod("y", "c", {"app": "c"}, node="n2", ip="172.16.2.4", ports=[port("dns", 5353, "UDP")]),
        *extra,
    )
    node.attach("x", "a", ofport=3, ip="172.16.1.2")
    node.sync()
    return node


def test_ingress_from_pods_on_a_port():
    node = world(
        k8s.policy(
            "x",
            "web",
            k8s.labels(app="a"),
            ingress=[{"from": [{"podSelector": k8s.labels(app="b")}], "ports": [{"port": 80}]}],
        )
    )
    assert node.lines() == sort_lines(
        [
            "table=90, priority=200,ip,nw_src=172.16.2.2 actions=conjunction(1,1/3)",
            "table=90, priority=200,ip,reg1=0x3 actions=conjunction(1,2/3)",
            "table=90, priority=200,tcp,tp_dst=80 actions=conjunction(1,3/3)",
            f"table=90, priority=190,conj_id=1,ip {ACTION_IN.format(1)}",
            *metrics_in(1),
            "table=100, priority=200,ip,reg1=0x3 actions=drop",
        ]
    )


def test_ingress_without_ports_has_two_clauses_and_an_empty_from_is_every_address():
    node = world(
        k8s.policy(
            "x", "from-b", k8s.labels(app="a"), ingress=[{"from": [{"podSelector": k8s.labels(app="b")}]}]
        ),
        k8s.policy("x", "all", k8s.labels(app="a"), ingress=[{"ports": [{"port": 8080}]}]),
    )
    [every], [from_b] = node.conj_ids("x/all"), node.conj_ids("x/from-b")
    pod_actions = {every: f"conjunction({every},2/3)", from_b: f"conjunction({from_b},2/2)"}
    assert node.lines() == sort_lines(
        [
            f"table=90, priority=200,ip actions=conjunction({every},1/3)",
            f"table=90, priority=200,ip,nw_src=172.16.2.2 actions=conjunction({from_b},1/2)",
            f"table=90, priority=200,ip,reg1=0x3 actions={pod_actions[1]},{pod_actions[2]}",
            f"table=90, priority=200,tcp,tp_dst=8080 actions=conjunction({every},3/3)",
            f"table=90, priority=190,conj_id=1,ip {ACTION_IN.format(1)}",
            *metrics_in(1),
            f"table=90, priority=190,conj_id=2,ip {ACTION_IN.format(2)}",
            *metrics_in(2),
            "table=100, priority=200,ip,reg1=0x3 actions=drop",
        ]
    )


def test_egress_to_an_ip_block_with_excepts():
    node = world(
        k8s.policy(
            "x",
            "out",
            k8s.labels(app="a"),
            egress=[
                {
                    "to": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.16/28"]}}],
                    "ports": [{"protocol": "UDP", "port": 53}],
                }
            ],
            policy_types=["Egress"],
        )
    )
    assert node.lines() == sort_lines(
        [
            "table=50, priority=200,ip,nw_dst=10.0.0.0/28 actions=conjunction(1,1/3)",
            "table=50, priority=200,ip,nw_dst=10.0.0.32/27 actions=conjunction(1,1/3)",
            "table=50, priority=200,ip,nw_dst=10.0.0.64/26 actions=conjunction(1,1/3)",
            "table=50, priority=200,ip,nw_dst=10.0.0.128/25 actions=conjunction(1,1/3)",
            "table=50, priority=200,ip,nw_src=172.16.1.2 actions=conjunction(1,2/3)",
            "table=50, priority=200,udp,tp_dst=53 actions=conjunction(1,3/3)",
            f"table=50, priority=190,conj_id=1,ip {ACTION_OUT.format(1)}",
            *metrics_out(1),
            "table=60, priority=200,ip,nw_src=172.16.1.2 actions=drop",
        ]
    )


def test_port_ranges_become_masks_and_sctp_is_matched():
    node = world(
        k8s.policy(
            "x",
            "ranges",
            k8s.labels(app="a"),
            ingress=[
                {
                    "from": [{"namespaceSelector": k8s.labels(ns="y")}],
                    "ports": [{"port": 32000, "endPort": 32768}, {"protocol": "SCTP", "port": 9999}],
                }
            ],
        )
    )
    assert node.lines() == sort_lines(
        [
            "table=90, priority=200,ip,nw_src=172.16.2.3 actions=conjunction(1,1/3)",
            "table=90, priority=200,ip,nw_src=172.16.2.4 actions=conjunction(1,1/3)",
            "table=90, priority=200,ip,reg1=0x3 actions=conjunction(1,2/3)",
            "table=90, priority=200,tcp,tp_dst=0x7d00/0xff00 actions=conjunction(1,3/3)",
            "table=90, priority=200,tcp,tp_dst=0x7e00/0xfe00 actions=conjunction(1,3/3)",
            "table=90, priority=200,tcp,tp_dst=32768 actions=conjunction(1,3/3)",
            "table=90, priority=200,sctp,tp_dst=9999 actions=conjunction(1,3/3)",
            f"table=90, priority=190,conj_id=1,ip {ACTION_IN.format(1)}",
            *metrics_in(1),
            "table=100, priority=200,ip,reg1=0x3 actions=drop",
        ]
    )


def test_a_named_port_resolving_differently_on_local_pods_splits_the_rule():
    node = world(
        k8s.pod("x", "d", {"app": "a"}, node="n1", ip="172.16.1.4", ports=[port("http", 8080)]),
        k8s.pod("x", "e", {"app": "a"}, node="n1", ip="172.16.1.5"),
        k8s.policy(
            "x",
            "named",
            k8s.labels(app="a"),
            ingress=[{"from": [{"podSelector": k8s.labels(app="b")}], "ports": [{"port": "http"}]}],
        ),
    )
    node.attach("x", "d", ofport=4, ip="172.16.1.4")
    node.attach("x", "e", ofport=5, ip="172.16.1.5")
    node.sync()
    # x/a serves http on 80, x/d on 8080, x/e has no port named http: isolated, nothing allowed.
    assert node.lines() == sort_lines(
        [
            "table=90, priority=200,ip,nw_src=172.16.2.2 actions=conjunction(1,1/3),conjunction(2,1/3)",
            "table=90, priority=200,ip,reg1=0x3 actions=conjunction(1,2/3)",
            "table=90, priority=200,ip,reg1=0x4 actions=conjunction(2,2/3)",
            "table=90, priority=200,tcp,tp_dst=80 actions=conjunction(1,3/3)",
            "table=90, priority=200,tcp,tp_dst=8080 actions=conjunction(2,3/3)",
            f"table=90, priority=190,conj_id=1,ip {ACTION_IN.format(1)}",
            *metrics_in(1),
            f"table=90, priority=190,conj_id=2,ip {ACTION_IN.format(2)}",
            *metrics_in(2),
            "table=100, priority=200,ip,reg1=0x3 actions=drop",
            "table=100, priority=200,ip,reg1=0x4 actions=drop",
            "table=100, priority=200,ip,reg1=0x5 actions=drop",
        ]
    )


def test_an_egress_named_port_resolves_by_the_peers_and_ip_blocks_keep_the_numbered_ports():
    node = world(
        k8s.policy(
            "x",
            "dns",
            k8s.labels(app="a"),
            egress=[
                {
                    "to": [{"namespaceSelector": k8s.labels(ns="y")}, {"ipBlock": {"cidr": "8.8.8.8/32"}}],
                    "ports": [{"protocol": "UDP", "port": "dns"}, {"port": 443}],
                }
            ],
            policy_types=["Egress"],
        )
    )
    assert node.lines() == sort_lines(
        [
            "table=50, priority=200,ip,nw_dst=8.8.8.8 actions=conjunction(1,1/3)",
            "table=50, priority=200,ip,nw_dst=172.16.2.3 actions=conjunction(2,1/3)",
            "table=50, priority=200,ip,nw_dst=172.16.2.4 actions=conjunction(3,1/3)",
            "table=50, priority=200,ip,nw_src=172.16.1.2 "
            "actions=conjunction(1,2/3),conjunction(2,2/3),conjunction(3,2/3)",
            "table=50, priority=200,tcp,tp_dst=443 "
            "actions=conjunction(1,3/3),conjunction(2,3/3),conjunction(3,3/3)",
            "table=50, priority=200,udp,tp_dst=53 actions=conjunction(2,3/3)",
            "table=50, priority=200,udp,tp_dst=5353 actions=conjunction(3,3/3)",
            f"table=50, priority=190,conj_id=1,ip {ACTION_OUT.format(1)}",
            *metrics_out(1),
            f"table=50, priority=190,conj_id=2,ip {ACTION_OUT.format(2)}",
            *metrics_out(2),
            f"table=50, priority=190,conj_id=3,ip {ACTION_OUT.format(3)}",
            *metrics_out(3),
            "table=60, priority=200,ip,nw_src=172.16.1.2 actions=drop",
        ]
    )


def test_an_empty_egress_to_with_a_named_port_means_every_pod():
    node = world(
        k8s.policy(
            "x",
            "any-dns",
            k8s.labels(app="a"),
            egress=[{"ports": [{"protocol": "UDP", "port": "dns"}]}],
            policy_types=["Egress"],
        )
    )
    assert node.lines() == sort_lines(
        [
            "table=50, priority=200,ip,nw_dst=172.16.2.3 actions=conjunction(1,1/3)",
            "table=50, priority=200,ip,nw_dst=172.16.2.4 actions=conjunction(2,1/3)",
            "table=50, priority=200,ip,nw_src=172.16.1.2 actions=conjunction(1,2/3),conjunction(2,2/3)",
            "table=50, priority=200,udp,tp_dst=53 actions=conjunction(1,3/3)",
            "table=50, priority=200,udp,tp_dst=5353 actions=conjunction(2,3/3)",
            f"table=50, priority=190,conj_id=1,ip {ACTION_OUT.format(1)}",
            *metrics_out(1),
            f"table=50, priority=190,conj_id=2,ip {ACTION_OUT.format(2)}",
            *metrics_out(2),
            "table=60, priority=200,ip,nw_src=172.16.1.2 actions=drop",
        ]
    )


def test_a_peer_shared_by_rules_is_one_flow_with_each_rules_action():
    from_b = [{"from": [{"podSelector": k8s.labels(app="b")}]}]
    node = world(
        k8s.policy("x", "one", k8s.labels(app="a"), ingress=from_b),
        k8s.policy("x", "two", k8s.labels(app="a"), ingress=[{**from_b[0], "ports": [{"port": 80}]}]),
    )
    [one], [two] = node.conj_ids("x/one"), node.conj_ids("x/two")
    by_id = {one: "{0},{1}/2", two: "{0},{1}/3"}  # conjunction(ID,CLAUSE/N), in id order

    def actions(clause: int) -> str:
        return ",".join(f"conjunction({by_id[i].format(i, clause)})" for i in sorted(by_id))

    assert node.lines() == sort_lines(
        [
            f"table=90, priority=200,ip,nw_src=172.16.2.2 actions={actions(1)}",
            f"table=90, priority=200,ip,reg1=0x3 actions={actions(2)}",
            f"table=90, priority=200,tcp,tp_dst=80 actions=conjunction({two},3/3)",
            f"table=90, priority=190,conj_id=1,ip {ACTION_IN.format(1)}",
            *metrics_in(1),
            f"table=90, priority=190,conj_id=2,ip {ACTION_IN.format(2)}",
            *metrics_in(2),
            "table=100, priority=200,ip,reg1=0x3 actions=drop",
        ]
    )


def test_policy_types_without_rules_only_isolate():
    node = world(k8s.policy("x", "deny", k8s.labels(app="a"), policy_types=["Ingress", "Egress"]))
    assert node.lines() == [
        "table=60, priority=200,ip,nw_src=172.16.1.2 actions=drop",
        "table=100, priority=200,ip,reg1=0x3 actions=drop",
    ]


def test_pods_elsewhere_and_unattached_pods_get_no_flows():
    node = world(
        k8s.pod("x", "later", {"app": "a"}, node="n1", ip="172.16.1.9"),
        k8s.policy("x", "deny", k8s.labels(app="b"), policy_types=["Ingress"]),
    )
    assert node.lines() == []  # x/b is on n2
    node.apply(k8s.policy("x", "deny-a", k8s.labels(app="a"), policy_types=["Ingress"]))
    node.sync()
    assert node.lines() == ["table=100, priority=200,ip,reg1=0x3 actions=drop"]
    node.attach("x", "later", ofport=9, ip="172.16.1.9")
    node.sync()
    assert node.lines() == [
        "table=100, priority=200,ip,reg1=0x3 actions=drop",
        "table=100, priority=200,ip,reg1=0x9 actions=drop",
    ]
    node.detach("x", "a")
    node.sync()
    assert node.lines() == ["table=100, priority=200,ip,reg1=0x9 actions=drop"]


def test_flows_carry_policy_cookies_and_the_action_and_metric_flows_name_their_conjunction():
    node = world(k8s.policy("x", "web", k8s.labels(app="a"), ingress=[{"ports": [{"port": 80}]}]))
    cookies = {(flow.table, flow.priority): flow.cookie for flow in node.installed.values()}
    assert cookies[(90, 200)] == 0x0001_05_00_00000000
    assert cookies[(90, 190)] == 0x0001_06_00_00000001
    assert cookies[(101, 200)] == 0x0001_07_00_00000001
    assert cookies[(100, 200)] == 0x0001_05_00_00000000
