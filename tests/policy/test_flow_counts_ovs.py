"""Random rules installed into a real Open vSwitch by the realizer: read back with `ovs-ofctl
dump-flows`, each rule costs n + m + p + 1 flows in its rule table (n peer networks, m local
pods, p port matches; n + m + 1 without ports) and three in the metric tables (two in its
direction's, one in the other's), shared matches are one flow each, and every isolated pod has
one drop flow per direction."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.openflow.client import FlowClient
from agent.openflow.cookies import Cookies
from agent.policy.addresses import block_addresses
from agent.policy.cache import LocalPod
from agent.policy.ports import static_ports
from agent.policy.realizer import OWNER, PolicyRealizer
from agent.policy.store import PolicySnapshot, PolicyStore, StateSource
from pyantrea_api.ipnet import parse_cidr
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupMember,
    InternalNetworkPolicy,
    IPBlock,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    Service,
)

pytestmark = pytest.mark.ovs

BRIDGE = "br-p"
PEER_IPS = [f"10.0.0.{i}" for i in range(1, 25)]
PODS = [(f"pod{i}", 10 + i, f"172.16.1.{10 + i}") for i in range(8)]
BLOCKS = [
    IPBlock(parse_cidr("192.168.0.0/16"), (parse_cidr("192.168.1.0/24"),)),
    IPBlock(parse_cidr("10.0.0.0/30"), ()),
    IPBlock(parse_cidr("0.0.0.0/0"), ()),
]


@pytest.fixture(scope="module")
def bridge(module_ovs):
    module_ovs.add_bridge(BRIDGE)
    return module_ovs


@dataclass(frozen=True)
class Spec:
    direction: Direction
    peers: frozenset[str]
    blocks: tuple[IPBlock, ...]
    pods: frozenset[int]
    services: tuple[Service, ...]

    def expected(self) -> tuple[int, int, int]:
        networks = {f"{ip}/32" for ip in self.peers}
        for block in self.blocks:
            networks |= {f"{a >> 6}/{a & 63}" for a in block_addresses(block)}
        ports = static_ports(self.services) if self.services else ()
        return len(networks), len(self.pods), len(ports)


SERVICE = st.builds(
    lambda protocol, port, width: Service(
        protocol, port, port + width if port is not None and width else None
    ),
    st.sampled_from(list(Protocol)),
    st.one_of(st.none(), st.integers(1, 65000)),
    st.integers(0, 300),
)
SPEC = st.builds(
    Spec,
    st.sampled_from(list(Direction)),
    st.frozensets(st.sampled_from(PEER_IPS), min_size=1, max_size=8),
    st.lists(st.sampled_from(BLOCKS), max_size=2, unique=True).map(tuple),
    st.frozensets(st.integers(0, len(PODS) - 1), min_size=1, max_size=4),
    st.lists(SERVICE, max_size=3).map(tuple),
)


def _packed(ip: str) -> bytes:
    return ipaddress.IPv4Address(ip).packed


def snapshot(specs: list[Spec]) -> PolicySnapshot:
    policies, address_groups, applied_to = {}, {}, {}
    for i, spec in enumerate(specs):
        peers = tuple(GroupMember("peers", ip, (_packed(ip),), (), "n2") for ip in sorted(spec.peers))
        locals_ = tuple(
            GroupMember("local", PODS[p][0], (_packed(PODS[p][2]),), (), "n1") for p in sorted(spec.pods)
        )
        address_groups[f"ag{i}"] = AddressGroup(f"ag{i}", peers)
        applied_to[f"atg{i}"] = AppliedToGroup(f"atg{i}", locals_)
        rule = Rule(spec.direction, Peer((f"ag{i}",), spec.blocks), spec.services)
        policies[f"np{i}"] = InternalNetworkPolicy(
            f"np{i}", PolicyReference("ns", f"np{i}", f"np{i}"), 1, (rule,), (f"atg{i}",)
        )
    return PolicySnapshot(policies, address_groups, applied_to)


async def install(bridge, specs: list[Spec]) -> tuple[str, list[int]]:
    """Install the specs' rules through a realizer; the dump and each rule's conj_id."""
    flows = FlowClient(bridge.paths.mgmt_socket(BRIDGE), Cookies(1))
    await flows.connect()
    realizer = PolicyRealizer(flows, PolicyStore())
    for name, ofport, ip in PODS:
        realizer.cache.set_local_pod(("local", name), LocalPod(name, ofport, int(ipaddress.IPv4Address(ip))))
    runner = asyncio.create_task(realizer.run())
    try:
        realizer.store.replace(snapshot(specs), StateSource.CONTROLLER)
        await realizer.flushed()
        dump = await asyncio.to_thread(bridge.ofctl, "dump-flows", BRIDGE, options=("--no-stats",))
        conj_ids = []
        for i in range(len(specs)):
            [rule] = realizer.store.policy_rules(f"np{i}")
            [conjunction] = realizer.reconciler.realized(rule.id).conjunctions.values()
            conj_ids.append(conjunction.id)
        await flows.sync(OWNER, [])
        return dump, conj_ids
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await flows.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(SPEC, min_size=1, max_size=5))
def test_each_rule_costs_n_plus_m_plus_p_plus_one_flows(bridge, specs):
    dump, conj_ids = asyncio.run(install(bridge, specs))
    lines = dump.splitlines()
    uses = Counter(int(c) for c in re.findall(r"conjunction\((\d+),", dump))
    metric_flows = Counter(
        (int(table), int(cookie, 16) & 0xFFFFFFFF)
        for cookie, table in re.findall(r"cookie=(0x[0-9a-f]+), table=(61|101), priority=200,", dump)
    )
    for spec, conj_id in zip(specs, conj_ids, strict=True):
        n, m, p = spec.expected()
        action_flows = [x for x in lines if f"conj_id={conj_id}," in x]
        assert len(action_flows) == 1
        assert uses[conj_id] + 1 == n + m + p + 1, (spec, n, m, p)
        own, other = (101, 61) if spec.direction is Direction.IN else (61, 101)
        assert (metric_flows[(own, conj_id)], metric_flows[(other, conj_id)]) == (2, 1)
    assert metric_flows.total() == 3 * len(specs)
    for table in (50, 90):
        matches = [x for x in lines if f"table={table}, priority=200," in x]
        assert len(matches) == len({x.split(" actions=")[0] for x in matches})
    for table, direction in ((60, Direction.OUT), (100, Direction.IN)):
        isolated = {p for s in specs if s.direction is direction for p in s.pods}
        assert len([x for x in lines if f"table={table}, priority=200," in x]) == len(isolated)
