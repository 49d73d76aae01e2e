"""Ports over a real ovsdb-server and ovs-vswitchd: pod (system) ports with their external_ids,
ofport waits and their errors, listing and finding, idempotent adds and deletes."""

import asyncio
from ipaddress import ip_address

import pytest

from agent.pods.portids import PodPortIds
from lab import netns
from pyantrea_ovsdb import (
    AddBridge,
    AddInternalPort,
    AddSystemPort,
    DatapathType,
    DeletePort,
    FindPorts,
    ListPorts,
    OfportError,
    OvsdbTimeoutError,
    RecordExistsError,
    RecordNotFoundError,
)

pytestmark = pytest.mark.ovs
run = asyncio.run


def pod_ids(name, container_id):
    return PodPortIds(
        container_id=container_id,
        pod_name=name,
        pod_namespace="default",
        ips=(ip_address("10.10.0.5"),),
        mac="0a:58:0a:0a:00:05",
        if_dev="eth0",
        netns=f"/var/run/netns/{name}",
    )


@pytest.fixture
def br_int(ovsdb):
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
    return "br-int"


def add_veth(ovs, name):
    """A veth pair in the OVS instance's namespace; `name` is the end OVS will take."""
    netns.run(ovs.netns, "ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    netns.run(ovs.netns, "ip", "link", "set", name, "up")


def test_pod_port_records_the_pod_and_gets_the_requested_ofport(ovs, ovsdb, br_int):
    add_veth(ovs, "web-1a2b3c")
    pod = pod_ids("web", "c0ffee")
    run(ovsdb.execute(AddSystemPort(br_int, "web-1a2b3c", pod.to_external_ids(), ofport_request=10)))

    assert run(ovsdb.wait_for_ofport("web-1a2b3c")) == 10
    (port,) = [p for p in run(ovsdb.execute(ListPorts(br_int))) if p.name == "web-1a2b3c"]
    assert port.type == ""
    assert port.ofport == 10
    assert port.bridge == "br-int"
    assert PodPortIds.from_external_ids(port.external_ids) == pod
    assert ovs.vsctl("get", "Interface", "web-1a2b3c", "external_ids:container-id").strip() == "c0ffee"
    assert ovs.vsctl("get", "Interface", "web-1a2b3c", "external_ids:ip-address").strip() == '"10.10.0.5"'


def test_ports_are_listed_and_found_by_external_id(ovs, ovsdb, br_int):
    for name, container in (("a-111111", "c1"), ("b-222222", "c2")):
        add_veth(ovs, name)
        run(ovsdb.execute(AddSystemPort(br_int, name, pod_ids(name, container).to_external_ids())))
    run(ovsdb.execute(AddInternalPort(br_int, "gw0")))
    for name in ("a-111111", "b-222222", "gw0"):
        run(ovsdb.wait_for_ofport(name))

    ports = run(ovsdb.execute(ListPorts(br_int)))
    assert [p.name for p in ports] == ["a-111111", "b-222222", "br-int", "gw0"]
    assert all(p.ofport is not None and p.ofport > 0 for p in ports)
    assert [p.name for p in ports if PodPortIds.from_external_ids(p.external_ids)] == ["a-111111", "b-222222"]

    (found,) = run(ovsdb.execute(FindPorts("container-id", "c2")))
    assert found.name == "b-222222"
    assert run(ovsdb.execute(FindPorts("container-id", "nope"))) == ()
    assert run(ovsdb.execute(ListPorts())) == ports


def test_add_port_is_idempotent_and_repairs(ovs, ovsdb, br_int):
    run(ovsdb.execute(AddInternalPort(br_int, "gw0", mtu=1450)))
    run(ovsdb.execute(AddInternalPort(br_int, "gw0", mtu=1400, external_ids={"kind": "gateway"})))
    assert ovs.vsctl("list-ports", br_int).split() == ["gw0"]
    assert ovs.vsctl("get", "Interface", "gw0", "mtu_request").strip() == "1400"
    assert ovs.vsctl("get", "Interface", "gw0", "external_ids:kind").strip() == "gateway"
    with pytest.raises(RecordExistsError, match="port 'gw0' already exists on bridge 'br-int'"):
        run(ovsdb.execute(AddInternalPort(br_int, "gw0", may_exist=False)))


def test_port_on_another_bridge_is_a_conflict(ovs, ovsdb, br_int):
    run(ovsdb.execute(AddBridge("br-other", datapath_type=DatapathType.NETDEV)))
    run(ovsdb.execute(AddInternalPort("br-other", "gw0")))
    with pytest.raises(RecordExistsError, match="port 'gw0' exists on bridge 'br-other', not on 'br-int'"):
        run(ovsdb.execute(AddInternalPort(br_int, "gw0")))
    with pytest.raises(RecordNotFoundError, match="port 'gw0' is on bridge 'br-other', not 'br-int'"):
        run(ovsdb.execute(DeletePort("gw0", bridge=br_int)))


def test_delete_port_is_idempotent(ovs, ovsdb, br_int):
    add_veth(ovs, "p-333333")
    run(ovsdb.execute(AddSystemPort(br_int, "p-333333")))
    run(ovsdb.execute(DeletePort("p-333333", bridge=br_int)))
    run(ovsdb.execute(DeletePort("p-333333", bridge=br_int)))
    assert ovs.vsctl("list-ports", br_int).split() == []
    with pytest.raises(RecordNotFoundError, match="port 'p-333333' does not exist"):
        run(ovsdb.execute(DeletePort("p-333333", if_exists=False)))


def test_missing_device_is_reported_with_the_reason(ovsdb, br_int):
    run(ovsdb.execute(AddSystemPort(br_int, "nodev0")))
    with pytest.raises(OfportError, match=r"could not attach interface 'nodev0': .*No such device"):
        run(ovsdb.wait_for_ofport("nodev0"))


def test_waiting_for_a_missing_interface(ovsdb, br_int):
    with pytest.raises(RecordNotFoundError, match="interface 'ghost0' does not exist"):
        run(ovsdb.wait_for_ofport("ghost0"))


def test_ofport_wait_times_out_without_vswitchd(ovs, ovsdb, br_int):
    ovs.stop_vswitchd()
    run(ovsdb.execute(AddInternalPort(br_int, "gw0")))
    with pytest.raises(OvsdbTimeoutError, match="ovs-vswitchd to assign an ofport to interface 'gw0'"):
        run(ovsdb.wait_for_ofport("gw0", timeout=0.5))


def test_a_failing_command_leaves_the_whole_transaction_undone(ovs, ovsdb, br_int):
    with pytest.raises(RecordNotFoundError, match="bridge 'br-none' does not exist"):
        run(ovsdb.transact(AddInternalPort(br_int, "gw0"), AddInternalPort("br-none", "gw1")))
    assert ovs.vsctl("list-ports", br_int).split() == []
    assert run(ovsdb.execute(FindPorts("kind", "x", bridge=br_int))) == ()
