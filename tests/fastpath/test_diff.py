"""The Cython diff engine, and the fastest plain-Python diff (its benchmark baseline), agree with
the plain-Python specification, and are minimal."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastpath import DuplicateFlowError, Flow, Match, diff_flows
from fastpath import actions as A
from fastpath.diff_plain import diff_flows_plain
from fastpath.diff_reference import diff_flows_reference
from tests.fastpath.strategies import flows


def unique_by_key(items):
    seen, out = set(), []
    for flow in items:
        if flow.key not in seen:
            seen.add(flow.key)
            out.append(flow)
    return out


def flow_sets(max_size=20):
    # Small tables and priorities make identities collide often, so modifies are common.
    small = flows(table=None, priority=None).map(
        lambda f: Flow(f.table % 3, f.priority % 4, f.match, f.actions)
    )
    return st.lists(st.one_of(small, flows()), max_size=max_size).map(unique_by_key)


def apply(installed, adds, modifies, deletes):
    state = {f.key: f for f in installed}
    for flow in deletes:
        del state[flow.key]
    for flow in [*adds, *modifies]:
        state[flow.key] = flow
    return state


@given(flow_sets(), flow_sets())
def test_engine_equals_reference(desired, installed):
    assert diff_flows(desired, installed) == diff_flows_reference(desired, installed)


@given(flow_sets(), flow_sets(), st.data())
def test_plain_baseline_equals_reference(desired, installed, data):
    # Some desired flows the very objects installed, as when the agent recomputes part of a table.
    shared = data.draw(st.lists(st.sampled_from(installed), unique_by=id) if installed else st.just([]))
    desired = unique_by_key([*desired, *shared])
    assert diff_flows_plain(desired, installed) == diff_flows_reference(desired, installed)
    assert diff_flows_plain(iter(desired), iter(installed)) == diff_flows_reference(desired, installed)


@given(flow_sets(), flow_sets())
def test_diff_turns_installed_into_desired_minimally(desired, installed):
    adds, modifies, deletes = diff_flows(desired, installed)
    assert apply(installed, adds, modifies, deletes) == {f.key: f for f in desired}
    # Minimal: nothing unchanged is touched, nothing is both added and deleted.
    assert not set(modifies) & set(installed)
    assert not {f.key for f in adds} & {f.key for f in installed}
    assert all(f in installed for f in deletes) and not {f.key for f in deletes} & {f.key for f in desired}


@given(flow_sets())
def test_identical_sets_need_nothing(flows_):
    assert diff_flows(flows_, list(flows_)) == ([], [], [])


@given(flow_sets())
def test_empty_sides(flows_):
    assert diff_flows(flows_, []) == (flows_, [], []) == diff_flows_reference(flows_, [])
    assert diff_flows([], flows_) == ([], [], flows_) == diff_flows_reference([], flows_)


@given(flow_sets(), flow_sets())
def test_fully_disjoint_sets(a, b):
    a = unique_by_key(Flow(2 * (f.table % 100), f.priority, f.match, f.actions) for f in a)
    b = unique_by_key(Flow(2 * (f.table % 100) + 1, f.priority, f.match, f.actions) for f in b)
    assert diff_flows(a, b) == (a, [], b) == diff_flows_reference(a, b)


def test_cookie_change_is_a_modify():
    old = Flow(1, 1, Match(ip=True), [A.Output(1)], cookie=1)
    assert diff_flows([old.with_cookie(2)], [old]) == ([], [old.with_cookie(2)], [])


@pytest.mark.parametrize("engine", [diff_flows, diff_flows_reference, diff_flows_plain])
def test_duplicate_identities_are_refused(engine):
    a = Flow(1, 1, Match(ip=True), [A.Output(1)])
    b = a.with_actions([A.Output(2)])
    with pytest.raises(DuplicateFlowError, match="desired"):
        engine([a, b], [])
    with pytest.raises(DuplicateFlowError, match="installed"):
        engine([], [a, b])
    with pytest.raises(DuplicateFlowError, match="desired"):
        engine([a, b], [a])
