"""Flow dumps compared across agent runs: equal when only counters, cookies, the numbering of
conjunction ids or the order of a flow's conjunctions differ; a flow more or less is named."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.soak.flowcheck import canonical, conjunction_leaks, difference, group_leaks

DUMP = """\
 cookie=0x2050000000000, duration=3.1s, table=50, n_packets=0, n_bytes=0, idle_age=3, priority=200,ip,nw_dst=172.16.0.11 actions=conjunction({a},1/3),conjunction({b},1/3)
 cookie=0x2050000000000, duration=3.1s, table=50, n_packets=4, n_bytes=300, priority=200,ip,nw_src=172.16.1.4 actions=conjunction({a},2/3)
 cookie=0x2050000000000, duration=3.1s, table=50, n_packets=0, n_bytes=0, priority=200,tcp,tp_dst=80 actions=conjunction({a},3/3),conjunction({b},3/3)
 cookie=0x2050000000000, duration=3.1s, table=50, n_packets=0, n_bytes=0, priority=200,ip actions=conjunction({b},2/3)
 cookie=0x2060000000001, duration=3.1s, table=50, n_packets=0, n_bytes=0, priority=190,conj_id={a},ip actions=set_field:{ahex}->reg5,resubmit(,61)
 cookie=0x2060000000002, duration=3.1s, table=50, n_packets=0, n_bytes=0, priority=190,conj_id={b},ip actions=set_field:{bhex}->reg5,resubmit(,61)
 cookie=0x2070000000001, duration=3.1s, table=61, n_packets=0, n_bytes=0, priority=200,ct_state=+new+trk,ip,reg5={ahex} actions=resubmit(,70)
 cookie=0x2070000000001, duration=3.1s, table=61, n_packets=0, n_bytes=0, priority=200,ct_state=-new-rpl+trk,ct_label={ahigh}/0xffffffff00000000,ip actions=resubmit(,70)
 cookie=0x2070000000002, duration=3.1s, table=101, n_packets=0, n_bytes=0, priority=200,ct_state=+rpl+trk,ct_label={bhex}/0xffffffff,ip actions=resubmit(,105)
"""


def dump(a: int, b: int, *, swap_order: bool = False, cookie_round: int = 2) -> list[str]:
    text = DUMP.format(a=a, b=b, ahex=hex(a), bhex=hex(b), ahigh=hex(a << 32))
    if swap_order:
        text = text.replace(
            f"conjunction({a},1/3),conjunction({b},1/3)", f"conjunction({b},1/3),conjunction({a},1/3)"
        )
    return text.replace("cookie=0x20", f"cookie=0x{cookie_round}0").splitlines()


@settings(max_examples=50)
@given(st.lists(st.integers(1, 2**31), min_size=2, max_size=2, unique=True), st.booleans(), st.integers(2, 9))
def test_renumbered_reordered_and_recounted_dumps_are_equal(ids, swap, cookie_round):
    assert canonical(dump(1, 2)) == canonical(dump(*ids, swap_order=swap, cookie_round=cookie_round))


def test_a_flow_more_is_stale_and_a_flow_less_is_missing():
    churned = [*dump(3, 9), " cookie=0x1, table=90, priority=1,ip,nw_src=10.9.9.9 actions=drop"]
    fresh = dump(1, 2)[:-1]
    found = difference(canonical(churned), canonical(fresh))
    assert found.stale == (
        "table=101, priority=200,ct_state=+rpl+trk,ct_label=C1/0xffffffff,ip actions=resubmit(,105)",
        "table=90, priority=1,ip,nw_src=10.9.9.9 actions=drop",
    )
    assert found.missing == ()
    assert not difference(canonical(dump(5, 6)), canonical(dump(1, 2)))


def test_rules_that_differ_are_not_renamed_into_each_other():
    """Swapping which rule owns a clause is a real change, whatever the numbering."""
    lines = dump(1, 2)
    moved = [line.replace("conjunction(1,2/3)", "conjunction(2,2/3)") for line in lines]
    assert difference(canonical(lines), canonical(moved))


def test_half_a_rule_is_a_leak():
    lines = dump(1, 2)
    assert conjunction_leaks(lines) == []
    assert conjunction_leaks([line for line in lines if "conj_id=2" not in line]) == [2]
    assert conjunction_leaks(random.sample(lines, len(lines))) == []


SERVICE_FLOWS = """\
 cookie=0x1040000000001, duration=2.2s, table=34, n_packets=0, n_bytes=0, priority=200,tcp,reg4=0/0x70000,nw_dst=10.96.0.5,tp_dst=8080 actions=set_field:{ahex}->reg7,set_field:0x10000/0x70000->reg4,group:{a}
 cookie=0x1040000000002, duration=2.2s, table=34, n_packets=0, n_bytes=0, priority=200,tcp,reg4=0/0x70000,nw_dst=10.96.0.6,tp_dst=8080 actions=set_field:{bhex}->reg7,set_field:0x10000/0x70000->reg4,group:{b}
 cookie=0x1040000000001, duration=2.2s, table=35, n_packets=0, n_bytes=0, priority=200,tcp,reg3=0xac100103,reg4=0x10050/0x7ffff,reg7={ahex} actions=ct(commit,table=45,zone=65520,nat(dst=172.16.1.3:80))
 cookie=0x1040000000002, duration=2.2s, table=35, n_packets=0, n_bytes=0, priority=200,tcp,reg3=0xac100103,reg4=0x10050/0x7ffff,reg7={bhex} actions=ct(commit,table=45,zone=65520,nat(dst=172.16.1.3:80))
"""
# Two Service ports with the same endpoints: identical groups told apart by the flows that select them.
GROUPS = """\
 group_id={a},type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xac100103->reg3,set_field:0x50/0xffff->reg4,resubmit(,35),bucket=bucket_id:1,weight:100,actions=set_field:0xac100202->reg3,set_field:0x50/0xffff->reg4,resubmit(,35)
 group_id={b},type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xac100103->reg3,set_field:0x50/0xffff->reg4,resubmit(,35)
"""


def service_dump(a: int, b: int, *, swap_buckets: bool = False) -> tuple[list[str], list[str]]:
    values = {"a": a, "b": b, "ahex": hex(a), "bhex": hex(b)}
    groups = GROUPS.format(**values)
    if swap_buckets:
        first = "actions=set_field:0xac100103->reg3,set_field:0x50/0xffff->reg4,resubmit(,35)"
        second = "actions=set_field:0xac100202->reg3,set_field:0x50/0xffff->reg4,resubmit(,35)"
        groups = groups.replace(
            f"bucket_id:0,weight:100,{first},bucket=bucket_id:1,weight:100,{second}",
            f"bucket_id:0,weight:100,{second},bucket=bucket_id:1,weight:100,{first}",
        )
    return SERVICE_FLOWS.format(**values).splitlines(), groups.splitlines()


@settings(max_examples=50)
@given(st.lists(st.integers(1, 2**24), min_size=2, max_size=2, unique=True), st.booleans())
def test_groups_renumbered_with_their_buckets_reordered_are_equal(ids, swap):
    """Group ids are allocated in the order Service ports arrived: matched by content."""
    assert canonical(*service_dump(1, 2)) == canonical(*service_dump(*ids, swap_buckets=swap))


def test_a_group_that_moved_to_another_service_port_is_a_difference():
    flows, groups = service_dump(1, 2)
    swapped_flows, _ = service_dump(2, 1)
    found = difference(canonical(flows, groups), canonical(swapped_flows, groups))
    assert found.missing and found.stale


def test_a_group_more_is_stale_and_a_group_less_is_missing():
    flows, groups = service_dump(1, 2)
    planted = "group_id=4000,type=select,bucket=bucket_id:0,weight:100,actions=drop"
    found = difference(canonical(flows, [*groups, planted]), canonical(flows, groups))
    (stale,) = found.stale
    assert re.fullmatch(r"group_id=G[0-9a-f]{8},type=select,bucket=weight:100,actions=drop", stale)
    assert found.missing == ()
    # a group less: it is missing, and the two flows that name it differ from a fresh agent's too
    found = difference(canonical(flows, groups[:1]), canonical(flows, groups))
    missing_groups = [line for line in found.missing if line.startswith("group_id=")]
    assert [line.partition(",")[2] for line in missing_groups] == [
        "type=select,bucket=weight:100,actions=set_field:0xac100103->reg3,set_field:0x50/0xffff->reg4,resubmit(,35)"
    ]
    assert len(found.stale) == 2 and not any(line.startswith("group_id=") for line in found.stale)


def test_a_group_no_flow_selects_and_a_flow_whose_group_is_gone_are_leaks():
    flows, groups = service_dump(1, 2)
    assert group_leaks(flows, groups) == []
    planted = "group_id=4000,type=select,bucket=bucket_id:0,weight:100,actions=drop"
    assert group_leaks(flows, [*groups, planted]) == ["group id 4000 is selected by no flow"]
    assert group_leaks(flows, groups[:1]) == ["a flow selects group id 2, which is not there"]
