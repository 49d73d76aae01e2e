"""A repeated ADD, CHECK against prevResult after things went wrong in the pod, and the
errors both give."""

import pytest

from lab import netns
from tests.cni.inspect import reservations

pytestmark = pytest.mark.ovs


def test_a_repeated_add_answers_the_same_and_allocates_nothing(node, sandboxes):
    pod = sandboxes()
    first = pod.add()
    assert first.status == 0
    again = pod.add()
    assert again.status == 0, again.stdout
    assert again.output == first.output
    assert len(reservations(node)) == 1
    in_other_version = pod.add("0.4.0")
    assert in_other_version.output["ips"][0]["version"] == "4"


def test_an_add_of_a_second_interface_for_a_container_is_refused(node, sandboxes):
    pod = sandboxes()
    assert pod.add().status == 0
    run = pod.call("ADD", ifname="net1")
    assert run.error_code == 102, run.stdout
    assert "already has interface eth0" in run.output["msg"]
    assert netns.run(pod.netns_name, "ip", "link", "show", "net1", check=False).returncode != 0


def test_a_repeated_add_of_a_broken_pod_is_an_error(node, sandboxes):
    pod = sandboxes()
    result = pod.add().output
    netns.run(pod.netns_name, "ip", "addr", "flush", "dev", "eth0")
    run = pod.add()
    assert run.error_code == 102 and "lacks its address" in run.output["msg"], run.stdout
    assert pod.check(result).error_code == 103


def test_check_finds_what_changed_since_add(node, sandboxes):
    pod = sandboxes()
    result = pod.add().output
    assert pod.check(result).status == 0

    wrong_ip = {**result, "ips": [{**result["ips"][0], "address": "10.244.1.250/24"}]}
    run = pod.check(wrong_ip)
    assert run.error_code == 103 and "not in prevResult" in run.output["msg"]

    wrong_mac = {
        **result,
        "interfaces": [result["interfaces"][0], {**result["interfaces"][1], "mac": "02:00:00:00:00:01"}],
    }
    assert pod.check(wrong_mac).error_code == 103

    other_ifname = pod.call("CHECK", pod.config(prevResult=result), ifname="eth1")
    assert other_ifname.error_code == 103 and "no interface eth1" in other_ifname.output["msg"]

    netns.run(pod.netns_name, "ip", "link", "set", "eth0", "address", "02:00:00:00:00:02")
    run = pod.check(result)
    assert run.error_code == 103 and "MAC" in run.output["msg"], run.stdout


def test_check_of_a_pod_whose_host_end_is_gone(node, sandboxes):
    pod = sandboxes()
    result = pod.add().output
    netns.run(node.netns, "ip", "link", "delete", result["interfaces"][0]["name"])
    run = pod.check(result)
    assert run.error_code == 103, run.stdout
    assert pod.delete().status == 0
    assert reservations(node) == {}


def test_check_errors(node, sandboxes):
    pod = sandboxes()
    assert pod.call("CHECK", pod.config()).error_code == 7, "CHECK needs prevResult"
    result = {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": pod.netns}], "ips": []}
    unknown = pod.check(result)
    assert unknown.error_code == 103 and "not attached" in unknown.output["msg"]
    assert pod.check(result, "0.3.1").error_code == 1, "CHECK exists from 0.4.0 on"


def test_check_of_a_pod_whose_namespace_is_gone_and_its_del(node, sandboxes):
    pod = sandboxes()
    result = pod.add().output
    netns.delete(pod.netns_name)
    assert pod.check(result).error_code == 3
    assert pod.delete().status == 0
    assert reservations(node) == {}
    assert result["interfaces"][0]["name"] not in node.ovs.vsctl("list-ports", "br-int").split()
