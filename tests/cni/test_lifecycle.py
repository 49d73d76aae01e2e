"""A pod's life through the real plugin executable and a real node: ADD, traffic, CHECK, DEL,
DEL again, in every supported CNI version."""

import pytest

from lab import netns
from pyantrea_testing.cninode import MTU
from tests.cni.inspect import links, pod_link, reservations, snapshot

pytestmark = pytest.mark.ovs


def ping(from_netns: str, address: str) -> None:
    done = netns.run(from_netns, "ping", "-c", "2", "-i", "0.2", "-W", "2", address, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("version", ["0.3.0", "0.3.1", "0.4.0", "1.0.0"])
def test_add_traffic_check_del_del(node, sandboxes, version):
    before = snapshot(node)
    web, db = sandboxes("web-frontend-7d9"), sandboxes("db")
    added = web.add(version)
    assert added.status == 0, added.stdout + added.stderr
    result = added.output
    assert result["cniVersion"] == version
    host, pod = result["interfaces"]
    assert host["name"].startswith("web-fron-") and len(host["name"]) == 15 and "sandbox" not in host
    assert pod == {"name": "eth0", "mac": pod["mac"], "sandbox": web.netns}
    (ip,) = result["ips"]
    assert ip["interface"] == 1 and ip["gateway"] == str(node.gateway.ip)
    assert ("version" in ip) == (version != "1.0.0")
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": str(node.gateway.ip)}]
    address = ip["address"].split("/")[0]

    eth0 = pod_link(web.netns_name, "eth0")
    assert eth0["address"] == pod["mac"] and eth0["mtu"] == MTU and "UP" in eth0["flags"]
    assert f"{eth0['addr_info'][0]['local']}/{eth0['addr_info'][0]['prefixlen']}" == ip["address"]
    assert host["name"] in node.ovs.vsctl("list-ports", "br-int").split()
    assert links(node)[host["name"]]["linkinfo"]["info_kind"] == "veth"
    assert reservations(node) == {address: web.container_id}

    assert db.add(version).status == 0
    ping(web.netns_name, str(node.gateway.ip))
    ping(web.netns_name, db.add(version).output["ips"][0]["address"].split("/")[0])

    if version in ("0.4.0", "1.0.0"):
        checked = web.check(result, version)
        assert checked.status == 0 and checked.stdout == "", checked.stdout

    for _ in range(2):
        deleted = web.delete(version)
        assert (deleted.status, deleted.stdout) == (0, ""), deleted.stdout
        deleted = db.delete(version)
        assert deleted.status == 0, deleted.stdout
    assert pod_link(web.netns_name, "eth0") is None
    assert snapshot(node) == before


def test_the_port_records_the_pod_uid_the_runtime_passes(node, sandboxes):
    uid = "0b6e1c52-3f1e-4d7a-9d5e-0c8f2a1b7e44"
    web, db = sandboxes("web", uid=uid), sandboxes("db")
    ports = [run.output["interfaces"][0]["name"] for run in (web.add(), db.add())]
    assert node.ovs.vsctl("get", "Interface", ports[0], "external_ids:pod-uid").strip('"\n') == uid
    assert "pod-uid" not in node.ovs.vsctl("get", "Interface", ports[1], "external_ids")
    node.restart()
    assert web.add().status == 0, "a repeated ADD after a restart matches the restored attachment"
    assert node.datapath.get(web.container_id).attachment.pod_uid == uid
    assert web.delete().status == 0 and db.delete().status == 0
