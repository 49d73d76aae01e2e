"""Flow dumps compared across agent runs: equal when only counters, cookies, the numbering of
conjunction ids or the order of a flow's conjunctions differ; a flow more or less is named."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.soak.flowcheck import canonical, conjunction_leaks, difference

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
