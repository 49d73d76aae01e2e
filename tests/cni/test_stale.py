"""The start-up clean-up's decisions (agent.cniserver.stale): which pod ports and which
host-local addresses outlived their pods."""

from __future__ import annotations

from ipaddress import ip_address

from hypothesis import given
from hypothesis import strategies as st

from agent.cniserver.ipam import Allocation, Holder
from agent.cniserver.stale import held_addresses, releasable, stale_ports
from agent.pods.api import RecordedPort
from pyantrea_kube.objects import Pod

UID1 = "0b6e1c52-3f1e-4d7a-9d5e-0c8f2a1b7e44"
UID2 = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def port(name: str, uid: str = "", ip: str = "10.244.1.2", namespace: str = "default") -> RecordedPort:
    return RecordedPort(f"{name[:8]}-abcdef", f"c-{name}", namespace, name, uid, (ip_address(ip),))


def pod(name: str, uid: str = "", ips: tuple[str, ...] = (), host_network: bool = False) -> Pod:
    return Pod("default", name, uid, {}, "node1", host_network, ips, "Running", ())


def names(stale) -> list[str]:
    return [entry.port.pod_name for entry in stale]


def test_a_port_whose_pod_is_gone_is_stale_and_says_why():
    (stale,) = stale_ports([port("gone"), port("web")], [pod("web")])
    assert stale.port.pod_name == "gone" and stale.reason == "no longer exists on this node"


def test_a_pod_whose_status_is_not_written_keeps_its_port():
    assert stale_ports([port("web", UID1)], [pod("web", UID1, ips=())]) == []


def test_a_status_showing_another_address_does_not_make_a_port_stale():
    # the kubelet may not have written the address of a sandbox created again yet
    assert stale_ports([port("web", UID1, ip="10.244.1.7")], [pod("web", UID1, ips=("10.244.1.3",))]) == []


def test_a_pod_created_again_under_the_same_name_makes_the_old_port_stale():
    (stale,) = stale_ports([port("web", UID1)], [pod("web", UID2)])
    assert UID2 in stale.reason and UID1 in stale.reason


def test_an_unknown_uid_on_either_side_matches_by_name_alone():
    assert stale_ports([port("web"), port("db", UID1)], [pod("web", UID2), pod("db", "")]) == []


def test_a_host_network_pod_of_that_name_has_no_port():
    assert names(stale_ports([port("web")], [pod("web", host_network=True)])) == ["web"]


def test_a_pod_of_that_name_in_another_namespace_is_another_pod():
    assert names(stale_ports([port("web", namespace="shop")], [pod("web")])) == ["web"]


def test_held_addresses_are_those_of_ports_that_stay_and_of_pod_statuses():
    held = held_addresses(
        [port("web", ip="10.244.1.2")],
        [pod("db", ips=("10.244.1.3", "fd00::3")), pod("host", ips=("192.168.77.1",), host_network=True)],
    )
    assert held == {ip_address("10.244.1.2"), ip_address("10.244.1.3"), ip_address("fd00::3")}


def test_a_status_address_that_is_not_an_address_is_ignored():
    assert held_addresses([], [pod("db", ips=("not-an-ip",))]) == frozenset()


def test_a_holder_is_released_whole_or_not_at_all():
    kept, freed = Holder("pyantrea", "c-kept", "eth0"), Holder("pyantrea", "c-freed", "")
    allocations = [
        Allocation(ip_address("10.244.1.2"), kept),
        Allocation(ip_address("10.244.1.3"), kept),
        Allocation(ip_address("10.244.1.4"), freed),
    ]
    assert releasable(allocations, {ip_address("10.244.1.3")}) == {freed: [ip_address("10.244.1.4")]}


addresses = st.integers(2, 20).map(lambda n: ip_address(f"10.244.1.{n}"))
holders = st.builds(Holder, st.just("pyantrea"), st.sampled_from(["c1", "c2", "c3", "c4"]), st.just("eth0"))


@given(
    allocations=st.lists(st.builds(Allocation, addresses, holders), unique_by=lambda a: a.ip),
    held=st.frozensets(addresses),
)
def test_no_held_address_is_released_and_every_other_holder_is(allocations, held):
    released = releasable(allocations, held)
    assert not any(address in held for found in released.values() for address in found)
    for allocation in allocations:
        holds = any(a.ip in held for a in allocations if a.holder == allocation.holder)
        assert (allocation.holder in released) == (not holds)
        if not holds:
            assert allocation.ip in released[allocation.holder]


uids = st.sampled_from(["", UID1, UID2])
pod_names = st.sampled_from(["a", "b", "c"])


@given(
    ports=st.lists(st.builds(port, pod_names, uids)),
    pods=st.lists(st.builds(pod, pod_names, uids, st.just(()), st.booleans()), unique_by=lambda p: p.name),
)
def test_a_port_stays_exactly_when_its_pod_is_there(ports, pods):
    stale = {id(entry.port) for entry in stale_ports(ports, pods)}
    for recorded in ports:
        owner = next((p for p in pods if p.name == recorded.pod_name), None)
        same = (
            owner is not None
            and not owner.host_network
            and (not owner.uid or not recorded.pod_uid or owner.uid == recorded.pod_uid)
        )
        assert (id(recorded) in stale) == (not same)
