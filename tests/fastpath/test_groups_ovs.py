"""Groups against a real ovs-vswitchd: what `ovs-ofctl dump-groups` shows after we install
them, big groups split over several messages, and groups and flows in one atomic bundle."""

from __future__ import annotations

import asyncio

import pytest

from fastpath import Bucket, Flow, Group, Match, parse_group, render_group
from fastpath import actions as A
from fastpath.connection import BundleError, OpenFlowConnection

pytestmark = pytest.mark.ovs


@pytest.fixture
def bridge(ovs):
    ovs.add_bridge("br-t")
    ovs.add_bridge("br-u")
    return ovs


def run_on(ovs, body, bridge="br-t"):
    async def main():
        conn = await OpenFlowConnection.connect(ovs.paths.mgmt_socket(bridge))
        try:
            return await body(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def dump_groups(ovs, bridge="br-t") -> list[str]:
    out = ovs.ofctl("dump-groups", bridge)
    return sorted(line.strip() for line in out.splitlines() if "group_id=" in line)


def table_34_flows(ovs) -> int:
    return sum("actions=" in line for line in ovs.ofctl("dump-flows", "br-t", "table=34").splitlines())


def endpoint_bucket(ip: int, port: int, weight: int = 100) -> Bucket:
    return Bucket([A.load("reg3", ip), A.load("reg4", port, 0, 15), A.Resubmit(35)], weight)


def service_flow(group_id: int, vip: str) -> Flow:
    match = Match(tcp=True, nw_dst=vip, tp_dst=80)
    return Flow(34, 200, match, [A.load("reg7", group_id), A.Group(group_id)])


CASES = {
    "select": "group_id=10,type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xa0a0018->reg3,"
    "set_field:0x50/0xffff->reg4,resubmit(,35),bucket=bucket_id:1,weight:50,actions=set_field:0x4000000/0x4000000->reg4,"
    "set_field:0xa0a0106->reg3,set_field:0x50/0xffff->reg4,resubmit(,35)",
    "select_empty": "group_id=11,type=select",
    "all": "group_id=12,type=all,bucket=bucket_id:0,actions=output:1,bucket=bucket_id:1,actions=output:2",
    "ct_in_bucket": "group_id=13,type=select,bucket=bucket_id:7,weight:1,actions="
    "ct(commit,table=50,zone=65520,nat(dst=10.10.0.24:80),exec(set_field:0x10/0x10->ct_mark))",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_groups_read_as_ovs_ofctl_writes_them(bridge, text):
    group = parse_group(text)

    async def body(conn):
        await conn.apply_bundle(group_adds=[group])
        return await conn.dump_groups()

    read_back = run_on(bridge, body)
    bridge.ofctl("add-group", "br-u", text)
    assert dump_groups(bridge) == dump_groups(bridge, "br-u") == [render_group(group)]
    assert read_back == [group]


def test_groups_and_flows_in_one_bundle_then_modify_and_delete(bridge):
    groups = [Group(i, [endpoint_bucket(0x0A0A0000 + i * 16 + j, 80) for j in range(3)]) for i in range(1, 4)]
    flows = [service_flow(g.group_id, f"10.96.0.{g.group_id}") for g in groups]

    async def install(conn):
        await conn.apply_bundle(adds=flows, group_adds=groups)

    run_on(bridge, install)
    assert dump_groups(bridge) == sorted(render_group(g) for g in groups)
    assert table_34_flows(bridge) == 3

    changed = groups[1].with_buckets([endpoint_bucket(0x0A0A00FF, 8080, 7)])

    async def change(conn):
        # The flow of group 3 goes away in the same bundle as the group.
        await conn.apply_bundle(deletes=[flows[2]], group_modifies=[changed], group_deletes=[groups[2]])

    run_on(bridge, change)
    assert dump_groups(bridge) == sorted([render_group(groups[0]), render_group(changed)])
    assert "weight:7" in bridge.ofctl("dump-groups", "br-t")
    assert table_34_flows(bridge) == 2


def test_a_group_of_3000_endpoints_goes_in_several_messages(bridge):
    big = Group(5, [endpoint_bucket(0x0A000000 + i, 8080) for i in range(3000)])
    smaller = big.with_buckets(big.buckets[:900])

    # Open vSwitch cannot describe a group this big (dump-groups garbles it: 16-bit lengths),
    # so its buckets are counted from the group's statistics, one counter per bucket.
    async def body(conn):
        await conn.apply_bundle(adds=[service_flow(5, "10.96.0.5")], group_adds=[big])
        first = await conn.group_stats()
        await conn.apply_bundle(group_modifies=[smaller])
        return first, await conn.group_stats(), await conn.dump_groups()

    first, second, described = run_on(bridge, body)
    assert [(s.group_id, len(s.bucket_packets)) for s in first] == [(5, 3000)]
    assert [(s.group_id, len(s.bucket_packets)) for s in second] == [(5, 900)]
    assert described == [smaller]
    assert dump_groups(bridge) == [render_group(smaller)]


def test_a_refused_flow_leaves_the_groups_of_its_bundle_out(bridge):
    group = Group(9, [endpoint_bucket(1, 2)])
    bad = Flow(34, 200, Match(ip=True), [A.Group(77)])  # no group 77

    async def body(conn):
        with pytest.raises(BundleError, match="BAD_OUT_GROUP") as caught:
            await conn.apply_bundle(adds=[service_flow(9, "10.96.0.9"), bad], group_adds=[group])
        return caught.value

    error = run_on(bridge, body)
    assert error.failures[0][0] == bad
    assert dump_groups(bridge) == []
    assert "table=34" not in bridge.ofctl("dump-flows", "br-t")


def test_adding_a_group_that_exists_takes_it_over(bridge):
    bridge.ofctl("add-group", "br-t", "group_id=4,type=select,bucket=actions=drop")
    group = Group(4, [endpoint_bucket(3, 4)])
    run_on(bridge, lambda conn: conn.apply_bundle(group_adds=[group]))
    assert dump_groups(bridge) == [render_group(group)]


def test_ct_nat_and_learn_flows_install_and_read_back(bridge):
    learn = A.Learn(
        33,
        hard_timeout=10800,
        priority=200,
        delete_learned=True,
        cookie=0x42,
        specs=[
            A.learn_match("dl_type", value=0x800),
            A.learn_match("nw_proto", value=17),
            A.learn_match("udp_dst"),
            A.learn_match("nw_dst"),
            A.learn_match("nw_src"),
            A.learn_load("reg3"),
            A.learn_load("reg4", 0, 15),
            A.learn_load("reg4", 16, 18, value=1),
        ],
    )
    flows = [
        Flow(34, 190, Match(udp=True, reg4=(0x20000, 0x70000)), [learn, A.Resubmit(35)]),
        Flow(35, 200, Match(udp=True, reg3=0x0A0A0018, reg4=(0x35, 0xFFFF)),
             [A.Ct(commit=True, table=50, zone=65520, nat=A.Nat("dst", "10.10.0.24", port_min=53),
                   actions=[A.SetField("ct_mark", 0x10, 0x10)])]),
    ]  # fmt: skip

    async def body(conn):
        await conn.apply_bundle(adds=flows)
        return [s.flow for s in await conn.dump_flows()]

    assert sorted(map(str, run_on(bridge, body))) == sorted(map(str, flows))


def test_packet_in_and_packet_out(bridge):
    """What a Service without endpoints needs: the packet a flow sends to the controller comes
    back as a packet-in (with that flow's cookie and table), and a packet-out goes through."""
    packet = bytes.fromhex(
        "aabbccddeeff0a0000000001080045000028000140004006000a0a0a00170a60000a"
        "d43100500000000100000000500220000000000000000000"
    )
    to_controller = Flow(0, 1, Match(tcp=True, nw_dst="10.96.0.10"), [A.Output("CONTROLLER")], cookie=0x77)

    async def body(conn):
        await conn.apply_bundle(adds=[to_controller])
        queue = await conn.receive_packet_ins()
        await conn.packet_out(packet, 0xFFFFFFF9)  # OFPP_TABLE: run it through the flow table
        return await asyncio.wait_for(queue.get(), 5)

    packet_in = run_on(bridge, body)
    assert (packet_in.table, packet_in.cookie, packet_in.data) == (0, 0x77, packet)
    assert packet_in.in_port == 0xFFFFFFFD  # it came from the controller (our packet-out)
    assert "n_packets=1" in bridge.ofctl("dump-flows", "br-t", "table=0")


def test_a_hash_selection_method_over_fields(bridge):
    text = (
        "group_id=14,type=select,selection_method=hash,fields(ip_src,ip_dst,udp_src,udp_dst),"
        "bucket=bucket_id:0,weight:100,actions=resubmit(,35)"
    )
    group = parse_group(text)

    async def body(conn):
        await conn.apply_bundle(group_adds=[group])
        return await conn.dump_groups()

    read_back = run_on(bridge, body)
    bridge.ofctl("add-group", "br-u", text)
    assert dump_groups(bridge) == dump_groups(bridge, "br-u") == [render_group(group)]
    assert read_back == [group]
