"""Many pods at once, an agent restart between a pod's ADD and its DEL, and a pod port whose
device went away while the agent was down."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from lab import netns
from tests.cni.inspect import reservations, snapshot

pytestmark = pytest.mark.ovs


def address_of(run):
    assert run.status == 0, run.stdout + run.stderr
    return run.output["ips"][0]["address"]


def test_twenty_pods_added_in_parallel_get_distinct_addresses(node, sandboxes):
    before = snapshot(node)
    pods = [sandboxes(f"par-{i}") for i in range(20)]
    with ThreadPoolExecutor(len(pods)) as pool:
        added = list(pool.map(lambda pod: pod.add(), pods))
    addresses = [address_of(run) for run in added]
    assert len(set(addresses)) == 20
    assert str(node.gateway) not in addresses
    hosts = {run.output["interfaces"][0]["name"] for run in added}
    assert hosts <= set(node.ovs.vsctl("list-ports", "br-int").split())
    assert sorted(reservations(node).values()) == sorted(pod.container_id for pod in pods)
    first, last = pods[0], pods[-1]
    ping = netns.run(first.netns_name, "ping", "-c", "1", "-W", "2", addresses[-1].split("/")[0], check=False)
    assert ping.returncode == 0, f"{first.name} cannot reach {last.name}: {ping.stdout}"

    with ThreadPoolExecutor(len(pods)) as pool:
        deleted = list(pool.map(lambda pod: pod.delete(), pods))
    assert all(run.status == 0 for run in deleted), [run.stdout for run in deleted if run.status]
    assert snapshot(node) == before


def test_agent_restart_between_add_and_del(node, sandboxes):
    before = snapshot(node)
    pod, other = sandboxes("survivor"), sandboxes("other")
    added = pod.add()
    address = address_of(added)
    assert other.add().status == 0

    node.restart()  # a new agent: only OVSDB and the state directory remain

    assert (
        netns.run(pod.netns_name, "ping", "-c", "1", "-W", "2", str(node.gateway.ip), check=False).returncode
        == 0
    )
    assert pod.check(added.output).status == 0
    again = pod.add()
    assert address_of(again) == address, "a repeated ADD after the restart is answered from the attachment"
    newcomer = sandboxes("newcomer")
    assert address_of(newcomer.add()) not in (address, other.add().output["ips"][0]["address"])

    for sandbox in (pod, other, newcomer):
        assert sandbox.delete().status == 0
    assert snapshot(node) == before


def test_a_pod_port_without_its_device_is_not_restored_but_recorded_and_detachable(node, sandboxes):
    pod = sandboxes("kept")
    assert pod.add().status == 0
    ids = {
        "container-id": "c-ghost",
        "pod-name": "ghost",
        "pod-namespace": "default",
        "ip-address": "10.244.1.99",
    }
    node.ovs.vsctl(
        "add-port", "br-int", "ghost-0a1b2c", "--", "set", "Interface", "ghost-0a1b2c",
        *(f"external_ids:{key}={value}" for key, value in ids.items()),
    )  # fmt: skip
    node.restart()

    assert [i.attachment.pod_name for i in node.datapath.interfaces()] == ["kept"]
    recorded = {port.port: port for port in node.loop.run(node.datapath.pod_ports())}
    assert set(recorded) == {"ghost-0a1b2c", node.datapath.get(pod.container_id).attachment.host_ifname}
    ghost = recorded["ghost-0a1b2c"]
    assert (ghost.container_id, ghost.pod_name) == ("c-ghost", "ghost")
    assert [str(ip) for ip in ghost.ips] == ["10.244.1.99"]
    assert node.loop.run(node.datapath.detach("c-ghost")) is None
    assert "ghost-0a1b2c" not in node.ovs.vsctl("list-ports", "br-int").split()
    assert pod.delete().status == 0
