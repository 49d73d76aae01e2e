"""Golden flows of ClusterNetworkPolicy rules: from the Kubernetes object through the controller's
computation, the rule cache and the reconciler, to flows as ovs-ofctl prints them.

Node n1 hosts x/a (ofport 3, 172.16.1.2); n2 hosts x/b (172.16.2.2) and y/b (172.16.2.3).
A rule of priority p at position i sits at flow priority 64000 - 32p - i in its tier's table
(Admin 45/85, Baseline 55/95); it isolates nothing.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from agent.fqdn.answers import Answer
from agent.fqdn.cache import NameCache
from tests.controlplane import k8s
from tests.policy.node import PolicyNode

ALL = {"namespaces": {}}
NS_Y = {"namespaces": {"matchLabels": {"ns": "y"}}}
TCP_80 = [{"tcp": {"destinationPort": {"number": 80}}}]
LABEL_3 = "ct_label=0x300000000/0xffffffff00000000"


def world(*extra: dict[str, Any]) -> PolicyNode:
    node = PolicyNode("n1")
    node.apply(
        k8s.node("n1"),
        k8s.node("n2"),
        k8s.namespace("x", ns="x"),
        k8s.namespace("y", ns="y"),
        k8s.pod("x", "a", {"app": "a"}, node="n1", ip="172.16.1.2"),
        k8s.pod("x", "b", {"app": "b"}, node="n2", ip="172.16.2.2"),
        k8s.pod("y", "b", {"app": "b"}, node="n2", ip="172.16.2.3"),
        *extra,
    )
    node.attach("x", "a", ofport=3, ip="172.16.1.2")
    node.sync()
    return node


def test_admin_rules_in_order_with_each_action():
    node = world(
        k8s.cluster_policy(
            "admin", "Admin", 2, ALL,
            ingress=[
                {"name": "deny-y", "action": "Deny", "from": [NS_Y], "protocols": TCP_80},
                {"name": "pass-all", "action": "Pass", "from": [ALL]},
            ],
            egress=[{"name": "accept-net", "action": "Accept", "to": [{"networks": ["10.0.0.0/8"]}]}],
        )
    )  # fmt: skip
    p0, p1 = 64000 - 32 * 2, 64000 - 32 * 2 - 1
    assert node.lines() == [
        f"table=45, priority={p0},conj_id=3,ip actions=set_field:0x3->reg5,resubmit(,61)",
        f"table=45, priority={p0},ip,nw_dst=10.0.0.0/8 actions=conjunction(3,1/2)",
        f"table=45, priority={p0},ip,nw_src=172.16.1.2 actions=conjunction(3,2/2)",
        "table=61, priority=200,ct_state=+new+trk,ip,reg5=0x3 actions=resubmit(,70)",
        f"table=61, priority=200,ct_state=-new-rpl+trk,{LABEL_3},ip actions=resubmit(,70)",
        f"table=85, priority={p0},conj_id=1,ip actions=drop",
        f"table=85, priority={p0},ip,nw_src=172.16.2.3 actions=conjunction(1,1/3)",
        f"table=85, priority={p0},ip,reg1=0x3 actions=conjunction(1,2/3)",
        f"table=85, priority={p0},tcp,tp_dst=80 actions=conjunction(1,3/3)",
        f"table=85, priority={p1},conj_id=2,ip actions=resubmit(,90)",
        f"table=85, priority={p1},ip,nw_src=172.16.1.2 actions=conjunction(2,1/2)",
        f"table=85, priority={p1},ip,nw_src=172.16.2.2 actions=conjunction(2,1/2)",
        f"table=85, priority={p1},ip,nw_src=172.16.2.3 actions=conjunction(2,1/2)",
        f"table=85, priority={p1},ip,reg1=0x3 actions=conjunction(2,2/2)",
        f"table=101, priority=200,ct_state=+rpl+trk,{LABEL_3},ip actions=resubmit(,105)",
    ]  # fmt: skip


def test_baseline_skips_the_pods_a_networkpolicy_isolates_only_while_it_has_rules():
    np = k8s.policy("x", "np", {}, ingress=[{"from": [{"podSelector": k8s.labels(app="b")}]}])
    baseline = k8s.cluster_policy("base", "Baseline", 0, ALL, ingress=[{"action": "Deny", "from": [ALL]}])
    node = world(np)
    before = node.lines()
    assert not any("table=95" in line for line in before)
    node.apply(baseline)
    node.sync()
    added = sorted(set(node.lines()) - set(before))
    assert added == [
        "table=95, priority=64000,conj_id=2,ip actions=drop",
        "table=95, priority=64000,ip,nw_src=172.16.1.2 actions=conjunction(2,1/2)",
        "table=95, priority=64000,ip,nw_src=172.16.2.2 actions=conjunction(2,1/2)",
        "table=95, priority=64000,ip,nw_src=172.16.2.3 actions=conjunction(2,1/2)",
        "table=95, priority=64000,ip,reg1=0x3 actions=conjunction(2,2/2)",
        "table=95, priority=64990,ip,reg1=0x3 actions=resubmit(,100)",
    ]
    assert set(before) <= set(node.lines())
    node.apply(deleted=(baseline,))
    node.sync()
    assert node.lines() == before


def test_same_priority_policies_share_flow_priorities_and_a_later_priority_comes_after():
    node = world(
        k8s.cluster_policy("p1", "Admin", 5, ALL, egress=[{"action": "Deny", "to": [NS_Y]}]),
        k8s.cluster_policy("p2", "Admin", 5, ALL, egress=[{"action": "Accept", "to": [NS_Y]}]),
        k8s.cluster_policy("p3", "Admin", 6, ALL, egress=[{"action": "Pass", "to": [NS_Y]}]),
    )
    priorities = {}
    for text in node.lines():
        if "conj_id=" in text:
            priority = int(text.split("priority=")[1].split(",")[0])
            priorities[text.split("actions=")[1]] = priority
    assert priorities["drop"] == 64000 - 32 * 5
    assert priorities["resubmit(,50)"] == 64000 - 32 * 6
    assert [p for a, p in priorities.items() if a.startswith("set_field")] == [64000 - 32 * 5]


def test_deleting_every_cluster_policy_removes_every_flow():
    policy = k8s.cluster_policy("p", "Baseline", 1, ALL, ingress=[{"action": "Accept", "from": [ALL]}])
    node = world(policy)
    assert node.lines()
    node.apply(deleted=(policy,))
    node.sync()
    assert node.lines() == []


def test_domain_names_intercept_dns_and_allow_the_addresses_learned_until_they_expire():
    names = NameCache(grace=0)
    policy = k8s.cluster_policy(
        "fqdn", "Admin", 3, ALL,
        egress=[{"name": "svc", "action": "Accept", "to": [{"domainNames": ["*.svc.cluster.local"]}],
                 "protocols": TCP_80},
                {"name": "rest", "action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}],
    )  # fmt: skip
    node = world()
    before = node.lines()
    node.apply(policy)
    node.sync()
    node.cache.set_domain_addresses(names)
    node.sync()
    p0, p1 = 64000 - 32 * 3, 64000 - 32 * 3 - 1
    intercept = [
        "table=85, priority=64995,ct_state=+rpl+trk,tcp,nw_dst=172.16.1.2,tp_src=53 actions=CONTROLLER:65535",
        "table=85, priority=64995,ct_state=+rpl+trk,udp,nw_dst=172.16.1.2,tp_src=53 actions=CONTROLLER:65535",
    ]
    deny = [
        f"table=45, priority={p1},conj_id=1,ip actions=drop",
        f"table=45, priority={p1},ip actions=conjunction(1,1/2)",
        f"table=45, priority={p1},ip,nw_src=172.16.1.2 actions=conjunction(1,2/2)",
    ]
    # Nothing learned yet: the Accept matches nothing, the pod's DNS answers go to the agent.
    assert sorted(set(node.lines()) - set(before)) == sorted(deny + intercept)
    # An answer for another name changes nothing; one for a matching name adds its address.
    other = names.learn([Answer("www.example.com", IPv4Address("10.9.9.9"), 30)], now=0)
    assert not node.cache.domain_names_changed(other)
    web = names.learn([Answer("web.y.svc.cluster.local", IPv4Address("172.16.2.3"), 5)], now=0)
    assert node.cache.domain_names_changed(web)
    node.sync()
    accept = [
        f"table=45, priority={p0},conj_id=2,ip actions=set_field:0x2->reg5,resubmit(,61)",
        f"table=45, priority={p0},ip,nw_dst=172.16.2.3 actions=conjunction(2,1/3)",
        f"table=45, priority={p0},ip,nw_src=172.16.1.2 actions=conjunction(2,2/3)",
        f"table=45, priority={p0},tcp,tp_dst=80 actions=conjunction(2,3/3)",
        "table=61, priority=200,ct_state=+new+trk,ip,reg5=0x2 actions=resubmit(,70)",
        "table=61, priority=200,ct_state=-new-rpl+trk,ct_label=0x200000000/0xffffffff00000000,ip "
        "actions=resubmit(,70)",
        "table=101, priority=200,ct_state=+rpl+trk,ct_label=0x200000000/0xffffffff00000000,ip "
        "actions=resubmit(,105)",
    ]
    assert sorted(set(node.lines()) - set(before)) == sorted(deny + intercept + accept)
    # The TTL passes: the address goes, and with it the Accept's conjunction.
    assert node.cache.domain_names_changed(names.expire(now=5))
    node.sync()
    assert sorted(set(node.lines()) - set(before)) == sorted(deny + intercept)
    # The policy goes: so does everything it brought, the interception too.
    node.apply(deleted=(policy,))
    node.sync()
    assert node.lines() == before
