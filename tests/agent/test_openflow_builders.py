"""Golden tests: every flow builder's output against the ovs-ofctl text a user sees on a node.

Expected lines are what `ovs-ofctl -O OpenFlow15 --no-stats dump-flows br-int` prints; the
article's two flows (ARP responder, tunnel route) appear with its own addresses.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from agent.openflow import features
from agent.openflow.builders import (
    arp,
    classifier,
    conntrack,
    l2,
    l3,
    metrics,
    misses,
    policy,
    service,
    spoofguard,
)
from agent.openflow.cookies import Category, Cookies
from agent.openflow.pipeline import PIPELINE, Miss, Pipeline, Table
from agent.openflow.registers import VIRTUAL_MAC
from fastpath import parse_flow
from pyantrea_api.objects import Direction

GW_MAC = "06:d1:bb:d3:bc:fa"
POD_MAC = "0a:58:ac:10:01:05"
C = 0x5


def lines(*flows):
    return [str(f) for f in flows]


def test_classifier():
    assert lines(
        classifier.tunnel_classifier_flow(1, cookie=C),
        classifier.gateway_classifier_flow(2, cookie=C),
        classifier.pod_classifier_flow(7, cookie=C),
    ) == [
        "cookie=0x5, priority=200,in_port=1 actions=set_field:0x1/0xf->reg0,set_field:0x20000/0x20000->reg0,"
        "resubmit(,30)",
        "cookie=0x5, priority=200,in_port=2 actions=set_field:0x2/0xf->reg0,resubmit(,10)",
        "cookie=0x5, priority=190,in_port=7 actions=set_field:0x3/0xf->reg0,resubmit(,10)",
    ]


def test_spoofguard():
    assert lines(*spoofguard.gateway_spoofguard_flows(2, cookie=C)) == [
        "cookie=0x5, table=10, priority=200,ip,in_port=2 actions=resubmit(,30)",
        "cookie=0x5, table=10, priority=200,arp,in_port=2 actions=resubmit(,20)",
    ]
    assert lines(*spoofguard.pod_spoofguard_flows(7, POD_MAC, IPv4Address("172.16.1.5"), cookie=C)) == [
        "cookie=0x5, table=10, priority=200,ip,in_port=7,dl_src=0a:58:ac:10:01:05,nw_src=172.16.1.5 "
        "actions=resubmit(,30)",
        "cookie=0x5, table=10, priority=200,arp,in_port=7,arp_spa=172.16.1.5,arp_sha=0a:58:ac:10:01:05 "
        "actions=resubmit(,20)",
    ]


def test_arp_responder_is_the_articles_flow():
    flow = arp.arp_responder_flow(IPv4Address("172.16.2.1"), VIRTUAL_MAC, cookie=0xF70E020000000000)
    assert str(flow) == (
        "cookie=0xf70e020000000000, table=20, priority=200,arp,arp_tpa=172.16.2.1,arp_op=1 "
        "actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:aa:bb:cc:dd:ee:ff->eth_src,"
        "set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:aa:bb:cc:dd:ee:ff->arp_sha,"
        "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:172.16.2.1->arp_spa,IN_PORT"
    )
    assert str(arp.arp_normal_flow(cookie=C)) == "cookie=0x5, table=20, priority=190,arp actions=NORMAL"


def test_conntrack():
    assert lines(
        conntrack.conntrack_flow(cookie=C),
        conntrack.invalid_drop_flow(cookie=C),
        *conntrack.gateway_reply_flows(GW_MAC, cookie=C),
        *conntrack.commit_flows(cookie=C),
    ) == [
        "cookie=0x5, table=30, priority=200,ip actions=ct(table=31,zone=65520)",
        "cookie=0x5, table=31, priority=190,ct_state=+inv+trk,ip actions=drop",
        "cookie=0x5, table=31, priority=210,ct_state=-new+trk,ct_mark=0x20,ip,reg0=0x2/0xf "
        "actions=resubmit(,40)",
        "cookie=0x5, table=31, priority=200,ct_state=-new+trk,ct_mark=0x20,ip "
        "actions=set_field:06:d1:bb:d3:bc:fa->eth_dst,set_field:0/0x20000->reg0,resubmit(,40)",
        "cookie=0x5, table=105, priority=200,ct_state=+new+trk,ip,reg0=0x2/0xf "
        "actions=ct(commit,table=106,zone=65520,exec(set_field:0x20/0x20->ct_mark,"
        "move:NXM_NX_REG6[]->NXM_NX_CT_LABEL[0..31],move:NXM_NX_REG5[]->NXM_NX_CT_LABEL[32..63]))",
        "cookie=0x5, table=105, priority=190,ct_state=+new+trk,ip actions=ct(commit,table=106,zone=65520,"
        "exec(move:NXM_NX_REG6[]->NXM_NX_CT_LABEL[0..31],move:NXM_NX_REG5[]->NXM_NX_CT_LABEL[32..63]))",
    ]


def test_service_bypass():
    flow = service.service_to_gateway_flow(IPv4Network("10.96.0.0/12"), 2, cookie=C)
    assert str(flow) == (
        "cookie=0x5, table=40, priority=200,ip,nw_dst=10.96.0.0/12 "
        "actions=set_field:0x2->reg1,set_field:0x10000/0x10000->reg0,resubmit(,105)"
    )


def test_tunnel_route_is_the_articles_flow():
    flow = l3.tunnel_route_flow(
        IPv4Network("172.16.2.0/24"), IPv4Address("192.168.1.29"), GW_MAC, 1, cookie=0xF70E020000000000
    )
    assert str(flow) == (
        "cookie=0xf70e020000000000, table=70, priority=200,ip,nw_dst=172.16.2.0/24 "
        "actions=dec_ttl,set_field:06:d1:bb:d3:bc:fa->eth_src,set_field:aa:bb:cc:dd:ee:ff->eth_dst,"
        "set_field:0x1->reg1,set_field:0x10000/0x10000->reg0,set_field:192.168.1.29->tun_dst,resubmit(,105)"
    )


def test_l3_from_tunnel():
    assert lines(
        l3.tunnel_to_pod_flow(IPv4Address("172.16.1.5"), POD_MAC, GW_MAC, cookie=C),
        l3.tunnel_to_gateway_flow(IPv4Address("172.16.1.1"), GW_MAC, cookie=C),
    ) == [
        "cookie=0x5, table=70, priority=200,ip,reg0=0x20000/0x20000,nw_dst=172.16.1.5 "
        "actions=set_field:06:d1:bb:d3:bc:fa->eth_src,set_field:0a:58:ac:10:01:05->eth_dst,dec_ttl,resubmit(,80)",
        "cookie=0x5, table=70, priority=200,ip,reg0=0x20000/0x20000,nw_dst=172.16.1.1 "
        "actions=set_field:06:d1:bb:d3:bc:fa->eth_dst,resubmit(,80)",
    ]


def test_l2():
    assert lines(l2.l2_forwarding_flow(POD_MAC, 7, cookie=C), l2.output_flow(cookie=C)) == [
        "cookie=0x5, table=80, priority=200,dl_dst=0a:58:ac:10:01:05 "
        "actions=set_field:0x7->reg1,set_field:0x10000/0x10000->reg0,resubmit(,85)",
        "cookie=0x5, table=110, priority=200,ip,reg0=0x10000/0x10000 actions=output:NXM_NX_REG1[]",
    ]


def test_policy_pass_through():
    assert lines(
        *policy.established_bypass_flows(cookie=C),
        *policy.related_bypass_flows(cookie=C),
        policy.gateway_ingress_bypass_flow(IPv4Address("172.16.1.1"), cookie=C),
    ) == [
        "cookie=0x5, table=50, priority=210,ct_state=-new+est,ip actions=resubmit(,55)",
        "cookie=0x5, table=60, priority=210,ct_state=-new+est,ip actions=resubmit(,61)",
        "cookie=0x5, table=90, priority=210,ct_state=-new+est,ip actions=resubmit(,95)",
        "cookie=0x5, table=100, priority=210,ct_state=-new+est,ip actions=resubmit(,101)",
        "cookie=0x5, table=50, priority=210,ct_state=-new+rel,ip actions=resubmit(,55)",
        "cookie=0x5, table=60, priority=210,ct_state=-new+rel,ip actions=resubmit(,61)",
        "cookie=0x5, table=90, priority=210,ct_state=-new+rel,ip actions=resubmit(,95)",
        "cookie=0x5, table=100, priority=210,ct_state=-new+rel,ip actions=resubmit(,101)",
        "cookie=0x5, table=90, priority=210,ip,nw_src=172.16.1.1 actions=resubmit(,105)",
    ]


def test_rule_metric_flows_count_new_packets_by_register_and_later_ones_by_ct_label_and_direction():
    assert lines(
        policy.conjunction_action_flow(Direction.IN, 7, cookie=C),
        *metrics.rule_metric_flows(Direction.IN, 7, cookie=C),
        policy.conjunction_action_flow(Direction.OUT, 8, cookie=C),
        *metrics.rule_metric_flows(Direction.OUT, 8, cookie=C),
    ) == [
        "cookie=0x5, table=90, priority=190,conj_id=7,ip actions=set_field:0x7->reg6,resubmit(,101)",
        "cookie=0x5, table=101, priority=200,ct_state=+new+trk,ip,reg6=0x7 actions=resubmit(,105)",
        "cookie=0x5, table=101, priority=200,ct_state=-new-rpl+trk,ct_label=0x7/0xffffffff,ip "
        "actions=resubmit(,105)",
        "cookie=0x5, table=61, priority=200,ct_state=+rpl+trk,ct_label=0x7/0xffffffff,ip "
        "actions=resubmit(,70)",
        "cookie=0x5, table=50, priority=190,conj_id=8,ip actions=set_field:0x8->reg5,resubmit(,61)",
        "cookie=0x5, table=61, priority=200,ct_state=+new+trk,ip,reg5=0x8 actions=resubmit(,70)",
        "cookie=0x5, table=61, priority=200,ct_state=-new-rpl+trk,ct_label=0x800000000/0xffffffff00000000,ip "
        "actions=resubmit(,70)",
        "cookie=0x5, table=101, priority=200,ct_state=+rpl+trk,ct_label=0x800000000/0xffffffff00000000,ip "
        "actions=resubmit(,105)",
    ]


def test_table_misses():
    assert lines(*misses.table_miss_flows(PIPELINE, cookie=0)) == [
        "priority=0 actions=drop",
        "table=10, priority=0 actions=drop",
        "table=20, priority=0 actions=drop",
        "table=30, priority=0 actions=drop",
        "table=31, priority=0 actions=resubmit(,32)",
        "table=32, priority=0 actions=resubmit(,33),resubmit(,34)",
        "table=33, priority=0 actions=drop",
        "table=34, priority=0 actions=resubmit(,35)",
        "table=35, priority=0 actions=resubmit(,40)",
        "table=40, priority=0 actions=resubmit(,45)",
        "table=45, priority=0 actions=resubmit(,50)",
        "table=50, priority=0 actions=resubmit(,55)",
        "table=55, priority=0 actions=resubmit(,60)",
        "table=60, priority=0 actions=resubmit(,61)",
        "table=61, priority=0 actions=resubmit(,70)",
        "table=70, priority=0 actions=resubmit(,80)",
        "table=80, priority=0 actions=resubmit(,85)",
        "table=85, priority=0 actions=resubmit(,90)",
        "table=90, priority=0 actions=resubmit(,95)",
        "table=95, priority=0 actions=resubmit(,100)",
        "table=100, priority=0 actions=resubmit(,101)",
        "table=101, priority=0 actions=resubmit(,105)",
        "table=105, priority=0 actions=resubmit(,106)",
        "table=106, priority=0 actions=resubmit(,110)",
        "table=110, priority=0 actions=drop",
    ]


def test_pipeline_keeps_the_design_numbers():
    assert [(t.id, t.name) for t in PIPELINE] == [
        (0, "Classifier"), (10, "SpoofGuard"), (20, "ARPResponder"), (30, "Conntrack"),
        (31, "ConntrackState"), (32, "NodePortMark"), (33, "SessionAffinity"), (34, "ServiceLB"),
        (35, "EndpointDNAT"), (40, "DNAT"), (45, "AdminEgressRule"), (50, "EgressRule"),
        (55, "BaselineEgressRule"), (60, "EgressDefault"), (61, "EgressMetric"), (70, "L3Forwarding"),
        (80, "L2ForwardingCalc"), (85, "AdminIngressRule"), (90, "IngressRule"), (95, "BaselineIngressRule"),
        (100, "IngressDefault"), (101, "IngressMetric"), (105, "ConntrackCommit"), (106, "ServiceSNAT"),
        (110, "L2ForwardingOut"),
    ]  # fmt: skip


def test_pipeline_rejects_bad_declarations():
    with pytest.raises(ValueError, match="increasing"):
        Pipeline((Table(10, "A", Miss.NEXT), Table(5, "B", Miss.DROP)))
    with pytest.raises(ValueError, match="no next table"):
        Pipeline((Table(1, "A", Miss.NEXT),))


def test_feature_flows_carry_their_owners_cookies():
    cookies = Cookies(3)
    gateway = features.GatewayPort(2, IPv4Interface("172.16.1.1/24"), GW_MAC)
    gateway_flows = features.gateway_flows(gateway, IPv4Network("10.96.0.0/12"), cookies)
    assert {f.cookie for f in gateway_flows} == {cookies(Category.GATEWAY), cookies(Category.SERVICE)}
    pod = features.PodPort(9, IPv4Address("172.16.1.9"), POD_MAC)
    assert {f.cookie for f in features.pod_flows(pod, GW_MAC, cookies)} == {cookies(Category.POD, 9)}
    assert {f.cookie >> 48 for f in features.pipeline_flows(cookies)} == {3}


def test_table_40_sends_the_service_cidr_to_gw0_only_for_kube_proxy():
    cookies = Cookies(3)
    gateway = features.GatewayPort(2, IPv4Interface("172.16.1.1/24"), GW_MAC)
    for_kube_proxy = features.gateway_flows(gateway, IPv4Network("10.96.0.0/12"), cookies)
    with_antrea_proxy = features.gateway_flows(
        gateway, IPv4Network("10.96.0.0/12"), cookies, antrea_proxy=True
    )
    assert [str(f) for f in for_kube_proxy if f.table == 40] == [
        "cookie=0x3040000000000, table=40, priority=200,ip,nw_dst=10.96.0.0/12 "
        "actions=set_field:0x2->reg1,set_field:0x10000/0x10000->reg0,resubmit(,105)"
    ]
    assert not any("nw_dst=10.96.0.0/12" in str(f) for f in with_antrea_proxy)
    gateway_cookie = cookies(Category.GATEWAY)
    assert [f for f in for_kube_proxy if f.cookie == gateway_cookie] == [
        f for f in with_antrea_proxy if f.cookie == gateway_cookie
    ]


def test_every_flow_round_trips_through_ovs_ofctl_text():
    cookies = Cookies(7)
    gateway = features.GatewayPort(2, IPv4Interface("172.16.1.1/24"), GW_MAC)
    peer = features.PeerNode("node-2", IPv4Network("172.16.2.0/24"), IPv4Address("192.168.77.2"))
    flows = [
        *features.pipeline_flows(cookies),
        *features.tunnel_flows(1, cookies),
        *features.gateway_flows(gateway, IPv4Network("10.96.0.0/12"), cookies),
        *features.peer_flows(peer, GW_MAC, 1, cookies),
        *features.pod_flows(features.PodPort(3, IPv4Address("172.16.1.3"), POD_MAC), GW_MAC, cookies),
    ]
    assert [parse_flow(str(f)) for f in flows] == flows
    assert len({f.key for f in flows}) == len(flows)


def test_antrea_proxy_replaces_the_kube_proxy_dnat_flow():
    cookies = Cookies(3)
    gateway = features.GatewayPort(2, IPv4Interface("172.16.1.1/24"), GW_MAC)
    cidr = IPv4Network("10.96.0.0/12")
    kube_proxy = lines(*features.gateway_flows(gateway, cidr, cookies))
    proxy = lines(*features.gateway_flows(gateway, cidr, cookies, antrea_proxy=True))
    assert any("table=40," in line and "nw_dst=10.96.0.0/12" in line for line in kube_proxy)
    assert not any("table=40," in line for line in proxy)
    assert any(
        "table=30, priority=210,ct_state=-trk,ip,nw_dst=172.16.1.1 actions=ct(table=30,zone=65521,nat)"
        in line
        for line in proxy
    )
    assert any("table=110, priority=210" in line and "actions=IN_PORT" in line for line in proxy)
    conntrack = [
        line for line in lines(*features.pipeline_flows(cookies, antrea_proxy=True)) if "table=30," in line
    ]
    assert any(line.endswith("ip actions=ct(table=31,zone=65520,nat)") for line in conntrack)
    plain = [line for line in lines(*features.pipeline_flows(cookies)) if "table=30," in line]
    assert any(line.endswith("ip actions=ct(table=31,zone=65520)") for line in plain)


def test_tier_flows():
    from agent.openflow.builders import tiers
    from pyantrea_api.objects import RuleAction, Tier

    admin_first = tiers.rule_priority(0, 0)
    assert (
        admin_first
        > tiers.rule_priority(0, 24)
        > tiers.rule_priority(1, 0)
        > tiers.rule_priority(1000, 24)
        > 210
    )
    with pytest.raises(ValueError, match="priority 1001"):
        tiers.rule_priority(1001, 0)
    assert lines(
        tiers.action_flow(Tier.ADMIN, Direction.OUT, RuleAction.ACCEPT, 64000, 7, cookie=C),
        tiers.action_flow(Tier.ADMIN, Direction.IN, RuleAction.DENY, 63999, 8, cookie=C),
        tiers.action_flow(Tier.ADMIN, Direction.IN, RuleAction.PASS, 63968, 9, cookie=C),
        tiers.action_flow(Tier.BASELINE, Direction.OUT, RuleAction.PASS, 64000, 10, cookie=C),
        tiers.action_flow(Tier.BASELINE, Direction.IN, RuleAction.ACCEPT, 64000, 11, cookie=C),
        tiers.isolation_skip_flow(Direction.IN, 3, cookie=C),
        tiers.gateway_admin_bypass_flow(IPv4Address("172.16.1.1"), cookie=C),
    ) == [
        "cookie=0x5, table=45, priority=64000,conj_id=7,ip actions=set_field:0x7->reg5,resubmit(,61)",
        "cookie=0x5, table=85, priority=63999,conj_id=8,ip actions=drop",
        "cookie=0x5, table=85, priority=63968,conj_id=9,ip actions=resubmit(,90)",
        "cookie=0x5, table=55, priority=64000,conj_id=10,ip actions=resubmit(,60)",
        "cookie=0x5, table=95, priority=64000,conj_id=11,ip actions=set_field:0xb->reg6,resubmit(,101)",
        "cookie=0x5, table=95, priority=64990,ip,reg1=0x3 actions=resubmit(,100)",
        "cookie=0x5, table=85, priority=64990,ip,nw_src=172.16.1.1 actions=resubmit(,105)",
    ]
    bypass = lines(*tiers.tier_bypass_flows(cookie=C))
    assert "cookie=0x5, table=45, priority=64990,ct_state=-new+rpl+trk,ip actions=resubmit(,50)" in bypass
    assert "cookie=0x5, table=95, priority=64990,ct_state=-new+rel+trk,ip actions=resubmit(,100)" in bypass
    assert len(bypass) == 8
