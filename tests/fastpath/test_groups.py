"""Groups, NAT and learn as values: validation, text, the group diff engine against its
specification, and the splitting of big groups into several messages."""

from __future__ import annotations

import pickle
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastpath import (
    Bucket,
    DuplicateGroupError,
    Flow,
    Group,
    GroupError,
    Match,
    ParseError,
    _group,
    diff_groups,
    parse_flow,
    parse_group,
    render_flow,
    render_group,
)
from fastpath import actions as A
from fastpath.diff_reference import diff_groups_reference
from tests.fastpath.strategies import flows, groups, learns, nats


def endpoint_bucket(ip: int, port: int) -> Bucket:
    return Bucket([A.load("reg3", ip), A.load("reg4", port, 0, 15), A.Resubmit(35)])


def test_select_group_text_is_ovs_ofctls():
    group = Group(10, [endpoint_bucket(0x0A0A0018, 80), Bucket([A.Resubmit(35)], weight=50)])
    assert render_group(group) == (
        "group_id=10,type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xa0a0018->reg3,"
        "set_field:0x50/0xffff->reg4,resubmit(,35),bucket=bucket_id:1,weight:50,actions=resubmit(,35)"
    )


@given(groups())
def test_group_render_parse_round_trip(group):
    assert parse_group(render_group(group)) == group
    assert pickle.loads(pickle.dumps(group)) == group


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Group(0xFFFFFF01, []), "out of range"),
        (lambda: Group(1, [], "fancy"), "group type"),
        (lambda: Group(1, [Bucket(bucket_id=3), Bucket(bucket_id=3)]), "two buckets have id 3"),
        (lambda: Bucket([A.GotoTable(3)]), "goto_table"),
        (lambda: Bucket(weight=70000), "weight"),
        (lambda: Group(1, ["x"]), "not a Bucket"),
        (lambda: Group(1, [], "indirect"), "exactly one bucket"),
    ],
)
def test_bad_groups_are_refused(build, message):
    with pytest.raises(GroupError, match=message):
        build()


@pytest.mark.parametrize(
    "text",
    [
        "group_id=1,type=select,bucket=actions=drop,frob=1",
        "type=select,bucket=actions=drop",
        "group_id=1,x=2",
    ],
)
def test_group_parse_errors(text):
    with pytest.raises(ParseError):
        parse_group(text)


@given(st.lists(groups(), max_size=8), st.lists(groups(), max_size=8))
def test_group_diff_equals_reference(desired, installed):
    desired = list({g.group_id: g for g in desired}.values())
    installed = list({g.group_id: g for g in installed}.values())
    assert diff_groups(desired, installed) == diff_groups_reference(desired, installed)


@given(st.lists(groups(), max_size=8), st.lists(groups(), max_size=8))
def test_group_diff_turns_installed_into_desired_minimally(desired, installed):
    desired = list({g.group_id: g for g in desired}.values())
    installed = list({g.group_id: g for g in installed}.values())
    adds, modifies, deletes = diff_groups(desired, installed)
    state = {g.group_id: g for g in installed}
    for g in deletes:
        del state[g.group_id]
    for g in [*adds, *modifies]:
        state[g.group_id] = g
    assert state == {g.group_id: g for g in desired}
    unchanged = [g for g in desired if g in installed]
    assert len(adds) + len(modifies) == len(desired) - len(unchanged)
    assert diff_groups(desired, desired) == ([], [], [])


def test_group_diff_refuses_duplicate_ids():
    with pytest.raises(DuplicateGroupError, match="desired groups share id 1"):
        diff_groups([Group(1), Group(1, [Bucket()])], [])
    with pytest.raises(DuplicateGroupError, match="installed groups share id 1"):
        diff_groups([], [Group(1), Group(1)])


def test_one_bucket_changed_is_one_modify():
    old = [Group(i, [endpoint_bucket(0x0A000000 + j, 80) for j in range(10)]) for i in range(100)]
    new = list(old)
    new[42] = Group(42, [endpoint_bucket(0x0A000000 + j, 80) for j in range(11)])
    assert diff_groups(new, old) == ([], [new[42]], [])


def _unpack_group_mod(message: bytes) -> tuple[int, int, int, int, bytes]:
    (length,) = struct.unpack_from("!H", message, 2)
    command, _type, group_id, bucket_len, bucket_id = struct.unpack_from("!HBxIH2xI", message, 8)
    assert length == len(message) == 24 + bucket_len
    return command, group_id, bucket_len, bucket_id, message[24:]


def test_big_group_is_split_into_insert_bucket_messages():
    group = Group(7, [endpoint_bucket(0x0A000000 + i, 8080) for i in range(3000)])
    messages = _group.encode_group_mods(group, _group.MODIFY, 100)
    assert len(messages) == _group.count_group_mods(group, _group.MODIFY) > 2
    parts = [_unpack_group_mod(m) for m in messages]
    assert [p[0] for p in parts] == [_group.MODIFY] + [_group.INSERT_BUCKET] * (len(parts) - 1)
    assert [p[3] for p in parts] == [_group.BUCKET_ALL] + [_group.BUCKET_LAST] * (len(parts) - 1)
    assert all(len(m) + 16 <= 0xFFFF for m in messages)
    assert b"".join(p[4] for p in parts) == group.body
    assert [struct.unpack_from("!I", m, 4)[0] for m in messages] == list(range(100, 100 + len(messages)))


def test_small_group_and_delete_are_one_message():
    group = Group(3, [endpoint_bucket(1, 2)])
    assert len(_group.encode_group_mods(group, _group.ADD, 1)) == 1
    (delete,) = _group.encode_group_mods(Group(3, [endpoint_bucket(1, 2)] * 1), _group.DELETE, 1)
    assert _unpack_group_mod(delete)[:3] == (_group.DELETE, 3, 0)


# -- the actions Services need ---------------------------------------------------------------


def in_ct(action):
    """nat is only valid inside ct()."""
    return A.Ct(commit=True, nat=action) if isinstance(action, A.Nat) else action


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (A.Nat("dst", "10.10.0.24", port_min=80), "nat(dst=10.10.0.24:80)"),
        (A.Nat("src", "10.10.0.1"), "nat(src=10.10.0.1)"),
        (A.Nat("src", "10.0.0.1", "10.0.0.9", 1000, 2000), "nat(src=10.0.0.1-10.0.0.9:1000-2000)"),
        (
            A.Ct(commit=True, table=50, zone=65520, nat=A.Nat("dst", 0x0A0A0018, port_min=80)),
            "ct(commit,table=50,zone=65520,nat(dst=10.10.0.24:80))",
        ),
        (
            A.Learn(
                33,
                hard_timeout=300,
                priority=200,
                delete_learned=True,
                specs=[
                    A.learn_match("dl_type", value=0x800),
                    A.learn_match("nw_proto", value=6),
                    A.learn_match("tcp_dst"),
                    A.learn_match("nw_src"),
                    A.learn_load("reg3"),
                    A.learn_load("reg4", 16, 18, value=1),
                ],
            ),
            "learn(table=33,hard_timeout=300,priority=200,delete_learned,eth_type=0x800,nw_proto=6,"
            "NXM_OF_TCP_DST[],NXM_OF_IP_SRC[],load:NXM_NX_REG3[]->NXM_NX_REG3[],load:0x1->NXM_NX_REG4[16..18])",
        ),
    ],
)
def test_service_action_text(action, text):
    assert str(action) == text
    flow = Flow(34, 200, Match(ip=True), [in_ct(action)])
    assert parse_flow(render_flow(flow)) == flow


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: A.Nat("dst"), "needs an address"),
        (lambda: A.Nat("up", "1.2.3.4"), "not 'src' or 'dst'"),
        (lambda: A.Nat(None, "1.2.3.4"), "needs src= or dst="),
        (lambda: A.Nat("dst", "1.2.3.4", "1.2.3.1"), "low to high"),
        (lambda: A.Nat("dst", "1.2.3.4", port_min=70000), "does not fit"),
        (lambda: A.Ct(nat="x"), "must be a Nat"),
        (lambda: A.learn_match("reg4", 16, 18, value=9), "does not fit"),
        (lambda: A.learn_match("reg4", 16, 18, value=1), "must cover all"),
        (lambda: A.learn_load("reg4", 0, 15, src="reg3", src_start=20), "do not fit"),
        (lambda: A.learn_load("nope"), "unknown field"),
        (lambda: A.Learn(33, hard_timeout=70000), "hard_timeout"),
        (lambda: A.Learn(33, specs=["x"]), "not a learn_match"),
    ],
)
def test_bad_service_actions_are_refused(build, message):
    with pytest.raises(A.ActionError, match=message):
        build()


@given(st.one_of(nats(), learns()))
def test_service_actions_round_trip(action):
    flow = Flow(3, 100, Match(ip=True), [in_ct(action)])
    assert parse_flow(render_flow(flow)) == flow
    assert pickle.loads(pickle.dumps(flow)) == flow


@given(flows())
def test_flows_with_every_action_still_round_trip(flow):
    assert parse_flow(render_flow(flow)) == flow
