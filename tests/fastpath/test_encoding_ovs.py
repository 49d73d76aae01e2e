"""The Cython encoder against a real ovs-vswitchd, with ovs-ofctl as the oracle.

Each case is a flow in ovs-ofctl syntax. It is parsed into a Flow, installed through
`fastpath` on bridge br-a, installed from text by `ovs-ofctl --bundle add-flows` on bridge
br-b, and both bridges are dumped: Open vSwitch must print the same line for both, that line
must equal `render_flow`, and reading the flow back through our own decoder must give the
Flow we sent.
"""

from __future__ import annotations

import asyncio

import pytest

from fastpath import parse_flow, render_flow
from fastpath.connection import OpenFlowConnection

pytestmark = pytest.mark.ovs

CASES = {
    # -- match fields --
    "in_port": "table=1,priority=100,in_port=3 actions=drop",
    "dl_src_dst": "table=1,priority=101,dl_src=aa:bb:cc:dd:ee:01,dl_dst=02:00:00:00:00:02 actions=drop",
    "dl_masked": "table=1,priority=102,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop",
    "dl_type": "table=1,priority=103,dl_type=0x88cc actions=drop",
    "arp": "table=1,priority=104,arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24 actions=drop",
    "arp_ha": "table=1,priority=105,arp,arp_sha=aa:bb:cc:dd:ee:ff,arp_tha=00:00:00:00:00:00 actions=drop",
    "ip_proto": "table=1,priority=106,ip,nw_proto=47 actions=drop",
    "nw_exact": "table=1,priority=107,ip,nw_src=10.1.2.3,nw_dst=10.4.5.6 actions=drop",
    "nw_cidr": "table=1,priority=108,ip,nw_src=10.1.0.0/16,nw_dst=172.16.2.0/24 actions=drop",
    "nw_arbitrary_mask": "table=1,priority=109,ip,nw_src=10.0.0.1/255.0.0.255 actions=drop",
    "tcp": "table=1,priority=110,tcp,tp_src=1234,tp_dst=80 actions=drop",
    "tcp_masked": "table=1,priority=111,tcp,tp_dst=0x50/0xfff0 actions=drop",
    "udp": "table=1,priority=112,udp,tp_src=53,tp_dst=0x1000/0xf000 actions=drop",
    "sctp": "table=1,priority=113,sctp,tp_src=9,tp_dst=132 actions=drop",
    "icmp": "table=1,priority=114,icmp,icmp_type=8,icmp_code=0 actions=drop",
    "regs": "table=1,priority=115,reg0=0x1,reg1=0x1e,reg2=0x10000/0x10000,reg3=0xffffffff,reg4=0x5,"
    "reg5=0x6/0xf,reg6=0,reg7=0x7 actions=drop",
    "xreg": "table=1,priority=116,xreg3=0x100000002 actions=drop",
    "xreg_masked": "table=1,priority=117,xreg0=0x10000000000/0xff0000000000 actions=drop",
    "ct_state": "table=1,priority=118,ct_state=-new+est+trk,ip actions=drop",
    "ct_state_inv": "table=1,priority=119,ct_state=+inv+trk actions=drop",
    "ct_mark": "table=1,priority=120,ct_mark=0x20 actions=drop",
    "ct_mark_masked": "table=1,priority=121,ct_mark=0x2/0xf actions=drop",
    "ct_label": "table=1,priority=122,ct_label=0x1234567890abcdef0011223344556677 actions=drop",
    "ct_label_masked": "table=1,priority=123,ct_label=0x2/0xffffffff actions=drop",
    "ct_zone": "table=1,priority=124,ct_zone=65520 actions=drop",
    "conj_id": "table=1,priority=125,conj_id=7,ip actions=drop",
    "tun_dst": "table=1,priority=126,tun_dst=192.168.1.29 actions=drop",
    "tun_id": "table=1,priority=127,tun_id=0x5 actions=drop",
    "tun_id_masked": "table=1,priority=128,tun_id=0x5/0xff actions=drop",
    "pkt_mark": "table=1,priority=129,pkt_mark=0x3/0xf actions=drop",
    "cookie": "cookie=0xf70e020000000001,table=1,priority=130,ip actions=drop",
    "table_zero_default_priority": "ip,nw_dst=1.2.3.4 actions=drop",
    # -- actions and instructions --
    "output": "table=2,priority=1 actions=output:5",
    "output_reserved": "table=2,priority=2 actions=IN_PORT",
    "normal": "table=2,priority=3 actions=NORMAL",
    "local": "table=2,priority=4 actions=LOCAL",
    "output_reg": "table=2,priority=5 actions=output:NXM_NX_REG1[]",
    "output_reg_bits": "table=2,priority=6 actions=output:NXM_NX_REG1[0..15]",
    "resubmit": "table=2,priority=7 actions=resubmit(,105)",
    "goto_table": "table=2,priority=8 actions=goto_table:20",
    "conjunction": "table=2,priority=9,ip,nw_src=10.0.0.1 actions=conjunction(2,1/2),conjunction(3,2/3)",
    "ct_basic": "table=2,priority=10,ip actions=ct(table=31,zone=65520)",
    "ct_nat": "table=2,priority=11,ip actions=ct(commit,table=110,zone=65520,nat)",
    "ct_exec_mark": "table=2,priority=12,ip actions="
    "ct(commit,table=110,zone=65520,exec(set_field:0x20/0xff->ct_mark))",
    "ct_exec_label": "table=2,priority=13,conj_id=2,ip actions=set_field:0x2->reg6,"
    "ct(commit,table=105,zone=65520,exec(set_field:0x2/0xffffffff->ct_label))",
    "ct_no_table": "table=2,priority=14,ip actions=ct(commit,zone=1)",
    "ct_exec_move_label": "table=2,priority=22,ip actions=ct(commit,table=110,zone=65520,"
    "exec(move:NXM_NX_REG6[]->NXM_NX_CT_LABEL[0..31],move:NXM_NX_REG5[]->NXM_NX_CT_LABEL[32..63]))",
    "ct_exec_mark_and_moves": "table=2,priority=23,ct_state=+new+trk,ip,reg0=0x2/0xf actions="
    "ct(commit,table=110,zone=65520,exec(set_field:0x20->ct_mark,"
    "move:NXM_NX_REG6[]->NXM_NX_CT_LABEL[0..31],move:NXM_NX_REG5[]->NXM_NX_CT_LABEL[32..63]))",
    "ct_exec_move_mark_bits": "table=2,priority=24,ip actions="
    "ct(commit,zone=1,exec(move:NXM_NX_REG0[0..7]->NXM_NX_CT_MARK[8..15]))",
    "set_field_reg": "table=2,priority=15 actions=set_field:0x2->reg0,set_field:0x1/0xf->reg1,goto_table:10",
    "load": "table=2,priority=16 actions=load:0x1->NXM_NX_REG0[16],load:0xc0a8011d->NXM_NX_TUN_IPV4_DST[]",
    "mod_dl": "table=2,priority=17 actions=mod_dl_src:06:d1:bb:d3:bc:fa,mod_dl_dst:aa:bb:cc:dd:ee:ff",
    "dec_ttl": "table=2,priority=18,ip actions=dec_ttl,resubmit(,105)",
    "move": "table=2,priority=19,ip actions=move:NXM_NX_REG0[0..15]->NXM_OF_IP_DST[0..15]",
    "move_full": "table=2,priority=20,arp actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]",
    "group": "table=2,priority=21 actions=group:3",
    "arp_responder": "table=20,priority=200,arp,arp_tpa=172.16.2.1,arp_op=1 actions="
    "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:aa:bb:cc:dd:ee:ff,load:0x2->NXM_OF_ARP_OP[],"
    "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0xaabbccddeeff->NXM_NX_ARP_SHA[],"
    "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xac100201->NXM_OF_ARP_SPA[],IN_PORT",
    "l3_tunnel": "table=70,priority=200,ip,nw_dst=172.16.2.0/24 actions=dec_ttl,mod_dl_src:06:d1:bb:d3:bc:fa,"
    "mod_dl_dst:aa:bb:cc:dd:ee:ff,load:0x1->NXM_NX_REG1[],load:0x1->NXM_NX_REG0[16],"
    "load:0xc0a8011d->NXM_NX_TUN_IPV4_DST[],resubmit(,105)",
    "drop": "table=3,priority=1,ip actions=drop",
    # -- Services: NAT to an address and port, learn for session affinity, packet-in --
    "ct_nat_dst": "table=35,priority=200,tcp,reg3=0xa0a0018,reg4=0x50/0xffff actions="
    "ct(commit,table=50,zone=65520,nat(dst=10.10.0.24:80),exec(set_field:0x10/0x10->ct_mark))",
    "ct_nat_src": "table=106,priority=200,ip actions=ct(commit,table=110,zone=65521,nat(src=10.10.0.1))",
    "ct_nat_ranges": "table=106,priority=201,udp actions="
    "ct(commit,zone=65521,nat(src=10.10.0.1-10.10.0.9:1000-2000))",
    "ct_nat_dst_no_port": "table=106,priority=202,udp actions=ct(commit,zone=65521,nat(dst=10.10.0.1))",
    "learn": "table=34,priority=190,tcp,reg4=0x20000/0x70000 actions=learn(table=33,hard_timeout=300,"
    "priority=200,delete_learned,cookie=0x5040000000007,eth_type=0x800,nw_proto=6,NXM_OF_TCP_DST[],"
    "NXM_OF_IP_DST[],NXM_OF_IP_SRC[],load:NXM_NX_REG3[]->NXM_NX_REG3[],"
    "load:NXM_NX_REG4[0..15]->NXM_NX_REG4[0..15],load:0x1->NXM_NX_REG4[16..18]),resubmit(,35)",
    "learn_sctp_idle": "table=34,priority=191,sctp actions=learn(table=33,idle_timeout=10,"
    "eth_type=0x800,nw_proto=132,OXM_OF_SCTP_DST[],NXM_OF_IP_DST[]=NXM_OF_IP_SRC[],"
    "load:NXM_NX_REG7[]->NXM_NX_REG7[])",
    "controller": "table=34,priority=200,tcp,nw_dst=10.96.0.10,tp_dst=80 actions=CONTROLLER:65535",
}


def _dump(ovs, bridge: str) -> list[str]:
    out = ovs.ofctl("dump-flows", bridge, "--no-stats")
    return sorted(line.strip() for line in out.splitlines() if "actions=" in line)


@pytest.fixture(scope="module")
def bridges(module_ovs):
    for bridge in ("br-a", "br-b"):
        module_ovs.add_bridge(bridge)
        module_ovs.ofctl("add-group", bridge, "group_id=3,type=all,bucket=output:1")
    return module_ovs


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_encoder_matches_ovs_ofctl(bridges, text):
    flow = parse_flow(text)
    ovs = bridges
    for bridge in ("br-a", "br-b"):
        ovs.ofctl("del-flows", bridge)

    async def install_and_read_back():
        conn = await OpenFlowConnection.connect(ovs.paths.mgmt_socket("br-a"))
        try:
            await conn.apply_bundle(adds=[flow])
            return await conn.dump_flows()
        finally:
            await conn.close()

    read_back = asyncio.run(install_and_read_back())
    ovs.ofctl("add-flow", "br-b", text, options=("--bundle",))

    ours, theirs = _dump(ovs, "br-a"), _dump(ovs, "br-b")
    assert ours == theirs
    assert ours == [render_flow(flow)]
    assert [stats.flow for stats in read_back] == [flow]
