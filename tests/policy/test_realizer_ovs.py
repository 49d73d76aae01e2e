"""The realizer against a real Open vSwitch: realization reports, a bundle the switch refuses
(a full flow table) and the recovery, per-rule counters from real packets, pods coming and going."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from agent.openflow.client import FlowClient
from agent.openflow.cookies import Cookies
from agent.pods.api import PodAttachment, PodInterface
from agent.policy.cache import LocalPod
from agent.policy.realizer import PolicyRealizer
from agent.policy.store import PolicySnapshot, PolicyStore, StateSource
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupMember,
    GroupPatch,
    InternalNetworkPolicy,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    Service,
)

pytestmark = pytest.mark.ovs

BRIDGE = "br-r"


@pytest.fixture
def bridge(ovs):
    ovs.add_bridge(BRIDGE)
    return ovs


class Reports:
    """A RealizationSink that keeps every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, int, str | None]] = []

    def report_realized(self, policy_name: str, generation: int, error: str | None = None) -> None:
        self.reports.append((policy_name, generation, error))


def member(name: str, ip: str, node: str = "n2") -> GroupMember:
    return GroupMember("ns", name, (ipaddress.IPv4Address(ip).packed,), (), node)


LOCAL = member("web", "172.16.1.5", "n1")


def policy(name: str, generation: int, *rules: Rule) -> InternalNetworkPolicy:
    return InternalNetworkPolicy(name, PolicyReference("ns", name, name), generation, rules, ("atg",))


def ingress(group: str, port: int | None = 80) -> Rule:
    services = (Service(Protocol.TCP, port, None),) if port is not None else ()
    return Rule(Direction.IN, Peer((group,), ()), services)


def event(kind: ObjectKind, name: str, obj: object, type_: EventType = EventType.ADDED) -> NodeEvent:
    return NodeEvent(type_, kind, 1, name, obj)


@asynccontextmanager
async def realizing(
    bridge, reports: Reports | None = None, **options
) -> AsyncIterator[tuple[PolicyRealizer, Reports]]:
    flows = FlowClient(bridge.paths.mgmt_socket(BRIDGE), Cookies(1))
    await flows.connect()
    reports = reports if reports is not None else Reports()
    realizer = PolicyRealizer(flows, PolicyStore(), reporter=reports, **options)
    web = LocalPod("c-web", 5, int(ipaddress.IPv4Address("172.16.1.5")))
    realizer.cache.set_local_pod(("ns", "web"), web)
    runner = asyncio.create_task(realizer.run())
    try:
        yield realizer, reports
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await flows.close()


def table(bridge, number: int) -> list[str]:
    dump = bridge.ofctl("dump-flows", BRIDGE, f"table={number}", options=("--no-stats",))
    return sorted(re.sub(r"^(cookie=\S+ )?table=\d+, ", "", line.strip()) for line in dump.splitlines())


def test_policies_are_reported_realized_once_every_group_is_in(bridge):
    async def main():
        async with realizing(bridge) as (realizer, reports):
            state = PolicySnapshot(
                {"a": policy("a", 1, ingress("g1")), "b": policy("b", 3, ingress("g2"))},
                {"g1": AddressGroup("g1", (member("p1", "10.0.0.1"),))},
                {"atg": AppliedToGroup("atg", (LOCAL,))},
            )
            feed = realizer.store
            feed.replace(state, StateSource.CONTROLLER)
            await realizer.flushed()
            first = list(reports.reports)
            feed.apply([event(ObjectKind.ADDRESS_GROUP, "g2", AddressGroup("g2", ()))])
            await realizer.flushed()
            second = reports.reports[len(first) :]
            edited = policy("a", 2, ingress("g1", 443))
            feed.apply([event(ObjectKind.NETWORK_POLICY, "a", edited, EventType.MODIFIED)])
            await realizer.flushed()
            third = reports.reports[len(first) + len(second) :]
            return first, second, third, table(bridge, 90)

    first, second, third, flows = asyncio.run(main())
    assert first == [("a", 1, None)]  # b waits for g2
    assert second == [("b", 3, None)]  # g2 is empty: b only isolates
    assert third == [("a", 2, None)]
    assert "priority=200,tcp,tp_dst=443 actions=conjunction(2,3/3)" in flows
    assert not any("tp_dst=80 " in line for line in flows)


def test_a_refused_bundle_is_reported_and_everything_is_installed_anew_once_the_switch_takes_it(bridge):
    bridge.vsctl(
        "--", "--id=@t", "create", "Flow_Table", "flow_limit=3", "overflow_policy=refuse",
        "--", "set", "Bridge", BRIDGE, "flow_tables:90=@t",
    )  # fmt: skip

    async def main():
        async with realizing(bridge, retry=(0.05, 0.2)) as (realizer, reports):
            peers = tuple(member(f"p{i}", f"10.0.0.{i}") for i in range(1, 6))
            state = PolicySnapshot(
                {"a": policy("a", 1, ingress("g1"))},
                {"g1": AddressGroup("g1", peers)},
                {"atg": AppliedToGroup("atg", (LOCAL,))},
            )
            feed = realizer.store
            feed.replace(state, StateSource.CONTROLLER)
            await realizer.flushed()
            refused = list(reports.reports)
            in_table = table(bridge, 90)
            await asyncio.to_thread(bridge.vsctl, "clear", "Bridge", BRIDGE, "flow_tables")
            # ovs-vswitchd applies the lifted limit a little later: retries until then are refused.
            async with asyncio.timeout(10):
                while ("a", 1, None) not in reports.reports[len(refused) :]:
                    await asyncio.sleep(0.02)
            return refused, in_table, reports.reports[len(refused) :], table(bridge, 90)

    refused, in_table, later, flows = asyncio.run(main())
    [(name, generation, error)] = refused
    assert (name, generation) == ("a", 1) and "TABLE_FULL" in error
    assert in_table == []  # nothing of the refused bundle
    assert later[-1] == ("a", 1, None)
    assert all(error is not None and "TABLE_FULL" in error for _, _, error in later[:-1])
    assert len(flows) == 5 + 1 + 1 + 1  # peers, pod, port, action flow (ids anew after the resync)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_packet(src: str, dst: str, port: int) -> str:
    """An Ethernet/IPv4/TCP SYN with valid checksums (conntrack finds a bad one invalid), as hex
    for `ovs-ofctl packet-out`."""
    source, destination = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    tcp = struct.pack("!HHIIBBHHH", 40000, port, 0, 0, 5 << 4, 0x02, 1024, 0, 0)
    pseudo = source + destination + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, source, destination)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    ethernet = bytes.fromhex("0a58000000050a58000000010800")
    return (ethernet + ip + tcp).hex()


def test_rule_counters_count_what_each_rule_let_through(bridge):
    async def main():
        async with realizing(bridge) as (realizer, _):
            state = PolicySnapshot(
                {"a": policy("a", 1, ingress("g1", 80)), "b": policy("b", 1, ingress("g1", 443))},
                {"g1": AddressGroup("g1", (member("p1", "10.0.0.1"),))},
                {"atg": AppliedToGroup("atg", (LOCAL,))},
            )
            feed = realizer.store
            feed.replace(state, StateSource.CONTROLLER)
            await realizer.flushed()
            for port, times in ((80, 3), (443, 1), (22, 2)):
                for _ in range(times):
                    await asyncio.to_thread(
                        bridge.ofctl, "packet-out", BRIDGE, "LOCAL",
                        "load:5->NXM_NX_REG1[],ct(table=90,zone=65520)",
                        tcp_packet("10.0.0.1", "172.16.1.5", port),
                    )  # fmt: skip
            stats = await realizer.rule_stats()
            return {s.policy.name: (s.packets, s.bytes, len(s.conj_ids)) for s in stats}

    stats = asyncio.run(main())
    assert {name: (packets, ids) for name, (packets, _, ids) in stats.items()} == {"a": (3, 1), "b": (1, 1)}
    assert stats["a"][1] == 3 * 54 and stats["b"][1] == 54


def interface(name: str, ofport: int, ip: str, container: str) -> PodInterface:
    attachment = PodAttachment(
        container_id=container, pod_namespace="ns", pod_name=name, host_ifname=f"{name}-x", ifname="eth0",
        netns="/dev/null", ip=ipaddress.IPv4Interface(f"{ip}/24"), mac="0a:58:00:00:00:09",
        gateway=ipaddress.IPv4Address("172.16.1.1"),
    )  # fmt: skip
    return PodInterface(attachment, ofport)


def test_a_pod_attached_later_gets_its_rules_before_the_attach_returns(bridge):
    async def main():
        async with realizing(bridge) as (realizer, _):
            late = member("late", "172.16.1.9", "n1")
            state = PolicySnapshot(
                {"a": policy("a", 1, ingress("g1", None))},
                {"g1": AddressGroup("g1", (member("p1", "10.0.0.1"),))},
                {"atg": AppliedToGroup("atg", (LOCAL, late))},
            )
            feed = realizer.store
            feed.replace(state, StateSource.CONTROLLER)
            await realizer.flushed()
            before = table(bridge, 100)
            await realizer.pod_attached(interface("late", 9, "172.16.1.9", "c-late"))
            attached = table(bridge, 100)
            await realizer.pod_detached(interface("late", 7, "172.16.1.9", "c-older"))  # another container
            kept = table(bridge, 100)
            await realizer.pod_detached(interface("late", 9, "172.16.1.9", "c-late"))
            patch = GroupPatch("atg", (), (LOCAL,))
            feed.apply([event(ObjectKind.APPLIED_TO_GROUP, "atg", patch, EventType.MODIFIED)])
            await realizer.flushed()
            return before, attached, kept, table(bridge, 100), table(bridge, 90)

    before, attached, kept, after, rules = asyncio.run(main())
    assert before == ["priority=200,ip,reg1=0x5 actions=drop"]
    assert attached == ["priority=200,ip,reg1=0x5 actions=drop", "priority=200,ip,reg1=0x9 actions=drop"]
    assert kept == attached
    assert after == []
    assert rules == []


def test_a_generation_is_reported_only_once_its_own_flows_are_in_the_switch(bridge):
    seen: list[tuple[int, bool]] = []

    class Checking(Reports):
        def report_realized(self, policy_name: str, generation: int, error: str | None = None) -> None:
            port = {1: 80, 2: 443}[generation]
            seen.append((generation, any(f"tp_dst={port} " in line for line in table(bridge, 90))))

    async def main():
        async with realizing(bridge, Checking()) as (realizer, _):
            peers = tuple(member(f"p{i}", f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}") for i in range(20_000))
            state = PolicySnapshot(
                {}, {"g1": AddressGroup("g1", peers)}, {"atg": AppliedToGroup("atg", (LOCAL,))}
            )
            feed = realizer.store
            feed.replace(state, StateSource.CONTROLLER)
            await realizer.flushed()
            feed.apply([event(ObjectKind.NETWORK_POLICY, "a", policy("a", 1, ingress("g1", 80)))])
            await asyncio.sleep(0.02)  # the realizer is sending generation 1's 20,000 flows
            edited = policy("a", 2, ingress("g1", 443))
            feed.apply([event(ObjectKind.NETWORK_POLICY, "a", edited, EventType.MODIFIED)])
            await realizer.flushed()

    asyncio.run(main())
    assert seen[-1] == (2, True)
    assert all(installed for _, installed in seen), seen
