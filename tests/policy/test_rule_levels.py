"""A ClusterNetworkPolicy rule's level (its flow priority within its policy): checked against an
evaluation that enumerates the packets of a small port space, and on the flows of a policy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.observe.rules import rule_index
from agent.policy.rules import levels, rule_ids, services_overlap
from pyantrea_api.objects import Direction, Peer, Protocol, Rule, Service
from tests.controlplane import k8s
from tests.policy.test_tier_flows import ALL, world

PORTS = range(1, 9)
NUMBERED = st.builds(
    lambda protocol, port, width: Service(protocol, port, port + width if width else None),
    st.sampled_from([Protocol.TCP, Protocol.UDP]),
    st.sampled_from(PORTS),
    st.integers(min_value=0, max_value=3),
)
SERVICE = st.one_of(
    NUMBERED,
    st.builds(Service, st.sampled_from([Protocol.TCP, Protocol.UDP]), st.none(), st.none()),
    st.builds(Service, st.just(Protocol.TCP), st.just("http"), st.none()),
)
SERVICES = st.lists(SERVICE, max_size=3).map(tuple)


def packets(services: tuple[Service, ...]) -> set[tuple[Protocol, int | str]]:
    """Every (protocol, port) the services match in a small space where a named port may be any
    number (so it is its own value, matching every number of its protocol)."""
    if not services:
        return {(p, n) for p in Protocol for n in [*range(1, 13), "any"]}
    found: set[tuple[Protocol, int | str]] = set()
    for s in services:
        if s.port is None or isinstance(s.port, str):
            found |= {(s.protocol, n) for n in [*range(1, 13), "any"]}
        else:
            found |= {(s.protocol, n) for n in range(s.port, (s.end_port or s.port) + 1)}
    return found


@given(SERVICES, SERVICES)
def test_services_overlap_when_some_packet_matches_both(a, b):
    assert services_overlap(a, b) == bool(packets(a) & packets(b))


@given(st.lists(SERVICES, min_size=1, max_size=8))
def test_a_rule_comes_after_every_earlier_rule_it_overlaps_and_no_lower_than_it_must(services):
    rules = [Rule(Direction.OUT, Peer((), ()), s, index=i) for i, s in enumerate(services)]
    found = levels(rules)
    for j, level in enumerate(found):
        before = [found[i] for i in range(j) if packets(services[i]) & packets(services[j])]
        assert level == (1 + max(before) if before else 0)
        assert level <= j


def tcp(port: int) -> list[dict]:
    return [{"tcp": {"destinationPort": {"number": port}}}]


def test_rules_on_distinct_ports_share_a_flow_priority_and_a_rule_on_every_port_comes_after():
    node = world(
        k8s.cluster_policy(
            "ports", "Admin", 1, ALL,
            egress=[
                {"name": "web", "action": "Accept", "to": [ALL], "protocols": tcp(80)},
                {"name": "tls", "action": "Accept", "to": [ALL], "protocols": tcp(443)},
                {"name": "rest", "action": "Deny", "to": [ALL]},
            ],
        )
    )  # fmt: skip
    priorities = {line.split(",")[1] for line in node.lines() if line.startswith("table=45")}
    assert priorities == {" priority=63968", " priority=63967"}  # 64000 - 32, and one below
    peers = [line for line in node.lines() if line.startswith("table=45") and "nw_dst=172.16.2.2 " in line]
    # web and tls share their peer's flow (two conjunctions at one priority); rest has its own.
    assert len(peers) == 2 and sum(line.count("conjunction(") for line in peers) == 3
    # The trace and the rule counters name a rule by its id: a rule at another level than its
    # position is still found (tls: position 1, level 0).
    (policy,) = node.store.policies.values()
    ids = rule_ids(policy)
    assert [node.store.rule(rid).position for rid in ids] == [0, 1, 2]
    assert [node.store.rule(rid).level for rid in ids] == [0, 0, 1]
    assert [rule_index(policy, rid) for rid in ids] == [0, 1, 2]
