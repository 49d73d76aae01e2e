"""Realization counting and phases: the tracker's incremental counts equal a recount from the
latest reports, whatever the order of policy changes and reports; the board's phases."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controlplane.compute.inputs import InvalidNetworkPolicy, NetworkPolicy
from controlplane.compute.labels import EVERYTHING
from controlplane.status.board import PolicyPhase, StatusBoard
from controlplane.status.realization import PolicyProgress, RealizationTracker
from controlplane.store.events import PolicyEvent
from pyantrea_api.objects import InternalNetworkPolicy, PolicyReference
from pyantrea_api.reports import Realization, StatusReport

NODES = ("n1", "n2", "n3", "n4")
POLICIES = ("u1", "u2", "u3")


def internal(name: str, generation: int) -> InternalNetworkPolicy:
    return InternalNetworkPolicy(name, PolicyReference("ns", f"np-{name}", name), generation, (), ())


spans = st.frozensets(st.sampled_from(NODES))
policy_ops = st.tuples(
    st.just("policy"), st.sampled_from(POLICIES), st.one_of(st.none(), st.integers(1, 3)), spans
)
realizations = st.builds(
    Realization,
    st.sampled_from((*POLICIES, "unknown")),
    st.integers(1, 3),
    st.sampled_from((None, None, "err")),
)
report_ops = st.tuples(
    st.just("report"),
    st.sampled_from(NODES),
    st.booleans(),
    st.lists(realizations, max_size=4),
    st.lists(st.sampled_from(POLICIES), max_size=2),
)


@given(st.lists(st.one_of(policy_ops, report_ops), max_size=40))
def test_counts_equal_a_recount(ops: list[tuple]) -> None:
    tracker = RealizationTracker()
    policies: dict[str, tuple[int, frozenset[str]]] = {}
    reports: dict[str, dict[str, tuple[int, str | None]]] = {node: {} for node in NODES}
    version = 0
    for op in ops:
        if op[0] == "policy":
            _, name, generation, span = op
            version += 1
            prev = policies.get(name, (0, frozenset()))[1]
            if generation is None:
                if name not in policies:
                    continue
                del policies[name]
                for node_reports in reports.values():
                    node_reports.pop(name, None)
                event = PolicyEvent(version, name, prev, frozenset(), None, True)
            else:
                policies[name] = (generation, span)
                event = PolicyEvent(version, name, prev, span, internal(name, generation), True)
            tracker.on_events([event])
        else:
            _, node, full, items, forgotten = op
            if full:
                reports[node] = {}
            for name in forgotten:
                reports[node].pop(name, None)
            for item in items:
                if item.policy_name in policies:
                    reports[node][item.policy_name] = (item.generation, item.error)
            tracker.report(StatusReport(node, full, tuple(items), tuple(forgotten)))
        for name, (generation, span) in policies.items():
            in_span = [(node, reports[node].get(name)) for node in sorted(span)]
            expected = PolicyProgress(
                generation,
                len(span),
                sum(1 for _, report in in_span if report == (generation, None)),
                tuple((node, r[1]) for node, r in in_span if r is not None and r[0] == generation and r[1]),
            )
            assert tracker.progress(name) == expected
        assert tracker.progress("unknown") is None


def k8s_policy(generation: int) -> NetworkPolicy:
    return NetworkPolicy("ns", "np-u1", "u1", generation, EVERYTHING, frozenset(), (), ())


def test_board_phases() -> None:
    board = StatusBoard()
    key = ("ns", "np-u1")
    board.set_policy(k8s_policy(1))
    assert board.take_dirty()[key].phase is PolicyPhase.PENDING  # not computed yet
    board.on_events([PolicyEvent(1, "u1", frozenset(), frozenset({"n1", "n2"}), internal("u1", 1), True)])
    assert board.take_dirty()[key].phase is PolicyPhase.REALIZING
    board.report(StatusReport("n1", False, (Realization("u1", 1, None),), ()))
    board.report(StatusReport("n2", False, (Realization("u1", 1, None),), ()))
    status = board.take_dirty()[key]
    assert (status.phase, status.current_nodes_realized, status.desired_nodes_realized) == (
        PolicyPhase.REALIZED,
        2,
        2,
    )
    board.set_policy(k8s_policy(2))  # edited: pending until the computation publishes it
    assert board.take_dirty()[key].phase is PolicyPhase.PENDING
    board.on_events(
        [PolicyEvent(2, "u1", frozenset({"n1", "n2"}), frozenset({"n1", "n2"}), internal("u1", 2), True)]
    )
    board.report(StatusReport("n2", False, (Realization("u1", 2, "table full"),), ()))
    status = board.take_dirty()[key]
    assert (status.phase, status.message, status.observed_generation) == (
        PolicyPhase.FAILED,
        "n2: table full",
        2,
    )
    board.set_policy(InvalidNetworkPolicy("ns", "np-u1", "u1", 3, "NetworkPolicy ns/np-u1: spec: bad"))
    status = board.take_dirty()[key]
    assert (status.phase, status.message) == (PolicyPhase.FAILED, "NetworkPolicy ns/np-u1: spec: bad")
    board.remove_policy("ns", "np-u1")
    assert board.take_dirty() == {key: None}
    assert board.statuses() == []
