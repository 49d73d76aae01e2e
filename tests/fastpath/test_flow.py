"""Flows, actions and their ovs-ofctl text."""

import pickle

import pytest
from hypothesis import given

from fastpath import ActionError, Flow, FlowError, Match, ParseError, parse_flow
from fastpath import actions as A
from tests.fastpath.strategies import flows


def test_identity_is_table_priority_match():
    a = Flow(90, 200, Match(ip=True, nw_src="10.0.0.1"), [A.Conjunction(2, 1, 2)], cookie=1)
    b = Flow(90, 200, Match(nw_src="10.0.0.1"), [A.Conjunction(3, 1, 2)], cookie=2)
    assert a.key == b.key
    assert a != b
    assert a.with_cookie(2).with_actions([A.Conjunction(3, 1, 2)]) == b


def test_drop_is_the_empty_action_list():
    assert Flow(0, 1, Match(), [A.Drop()]) == Flow(0, 1, Match(), [])
    assert str(Flow(0, 1, Match(), [])) == "priority=1 actions=drop"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Flow(255, 1, Match()), "table 255 is out of range"),
        (lambda: Flow(0, 70000, Match()), "priority 70000 is out of range"),
        (lambda: Flow(0, 1, Match(), cookie=2**64), "does not fit in 64 bits"),
        (lambda: Flow(0, 1, Match(), [A.GotoTable(5), A.Output(1)]), "goto_table must be the last action"),
        (lambda: Flow(0, 1, Match(), [A.Drop(), A.Output(1)]), "drop must not be accompanied"),
        (lambda: Flow(0, 1, Match(), ["output:1"]), "is not an Action"),
        (lambda: A.Conjunction(1, 3, 2), "clause 3/2 is invalid"),
        (lambda: A.Conjunction(1, 1, 1), "clause 1/1 is invalid"),
        (lambda: A.Resubmit(300), "resubmit: table 300 is out of range"),
        (lambda: A.Output(0xFFFFFFF0), "is not a valid OpenFlow port"),
        (lambda: A.Output("SOMEWHERE"), "unknown port 'SOMEWHERE'"),
        (lambda: A.SetField("reg1", 2**32), "does not fit in reg1"),
        (lambda: A.SetField("nope", 1), "unknown field 'nope'"),
        (lambda: A.load("reg0", 4, 16, 17), "does not fit in 2 bits of reg0"),
        (lambda: A.load("reg0", 1, 31, 32), "bits 31..32 are outside reg0"),
        (lambda: A.Move("reg0", "reg1", 20, 0, 16), "do not fit"),
        (lambda: A.Ct(commit=False, actions=[A.SetField("ct_mark", 1)]), "exec() needs commit"),
        (lambda: A.Ct(commit=True, actions=[A.SetField("reg0", 1)]), "may only set or move into ct_mark"),
        (lambda: A.Ct(commit=True, actions=[A.Move("ct_mark", "reg0")]), "may only set or move into ct_mark"),
        (lambda: A.Ct(zone=70000), "zone 70000 is out of range"),
    ],
)
def test_bad_flows_and_actions_are_refused(build, message):
    with pytest.raises((FlowError, ActionError)) as info:
        build()
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("flow", "text"),
    [
        (
            Flow(90, 200, Match(ip=True, nw_src="192.168.2.31"), [A.Conjunction(2, 1, 2)]),
            "table=90, priority=200,ip,nw_src=192.168.2.31 actions=conjunction(2,1/2)",
        ),
        (
            Flow(90, 210, Match(ip=True, ct_state="-new+est"), [A.Resubmit(110)], cookie=0xF70E020000000000),
            "cookie=0xf70e020000000000, table=90, priority=210,ct_state=-new+est,ip actions=resubmit(,110)",
        ),
        (
            Flow(
                70, 200, Match(ip=True, nw_dst="172.16.2.0/24"), [A.DecTtl(), A.load("tun_dst", 0xC0A8011D)]
            ),
            "table=70, priority=200,ip,nw_dst=172.16.2.0/24 actions=dec_ttl,set_field:192.168.1.29->tun_dst",
        ),
        (Flow(0, 32768, Match(), [A.Output("NORMAL")]), "actions=NORMAL"),
    ],
)
def test_golden_text(flow, text):
    assert str(flow) == text
    assert parse_flow(text) == flow


def test_parse_ignores_statistics():
    line = (
        " cookie=0x0, duration=162.476s, table=90, n_packets=0, n_bytes=0, idle_age=5, "
        "priority=200,ip,nw_src=192.168.2.1 actions=conjunction(2,1/2)"
    )
    assert parse_flow(line) == Flow(90, 200, Match(nw_src="192.168.2.1"), [A.Conjunction(2, 1, 2)])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table=1,ip", "no actions="),
        ("table=1,ip actions=frobnicate", "unsupported action 'frobnicate'"),
        ("table=1,bogus actions=drop", "unknown keyword 'bogus'"),
        ("table=1,ip,nw_src=1.2.3 actions=drop", "is not an IPv4 address"),
        ("table=1 actions=ct(commit,table=1", "unbalanced"),
        ("table=1 actions=output:NXM_NX_NOPE[]", "unknown match field 'NXM_NX_NOPE'"),
    ],
)
def test_parse_errors_name_the_problem(text, message):
    with pytest.raises(ParseError) as info:
        parse_flow(text)
    assert message in str(info.value)


@given(flows())
def test_render_parse_round_trip(flow):
    assert parse_flow(str(flow)) == flow


@given(flows())
def test_pickle_round_trip(flow):
    assert pickle.loads(pickle.dumps(flow)) == flow
