"""A failure at each step of ADD leaves nothing behind: no address reserved, no veth, no OVS
port, no flow. Failures are caused by real means where there are any (a full subnet, a missing
IPAM plugin, a namespace deleted half-way, names already taken); only the datapath's own
refusal is injected, by a wrapper around the real datapath."""

import json
import os
import stat
import subprocess
import time
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from agent.cniserver import host_interface_name
from agent.pods.api import PodAttachment, PodDatapath, PodInterface, RecordedPort
from lab import netns
from pyantrea_testing.cninode import NodeSettings
from pyantrea_testing.cniruntime import PLUGIN, pod_args
from tests.cni.inspect import links, pod_link, reservations, snapshot

pytestmark = pytest.mark.ovs


def assert_failed_cleanly(node, sandbox, run, code, before):
    assert run.status == 1, run.stdout
    assert run.error_code == code, run.stdout
    assert "Traceback" not in run.stderr
    assert snapshot(node) == before
    if netns.exists(sandbox.netns_name):
        assert pod_link(sandbox.netns_name, "eth0") is None
    # the runtime follows a failed ADD with a DEL, which must succeed and change nothing
    assert sandbox.delete().status == 0
    assert snapshot(node) == before


@pytest.mark.parametrize(
    "node_settings", [NodeSettings(pod_cidr=IPv4Network("10.244.9.0/30"))], indirect=True
)
def test_a_full_subnet_is_an_ipam_failure(node, sandboxes):
    first = sandboxes()
    assert first.add().status == 0  # the /30's only address besides the gateway
    before = snapshot(node)
    second = sandboxes()
    run = second.add()
    assert "no IP addresses available" in run.output["msg"]
    assert_failed_cleanly(node, second, run, 101, before)
    assert first.delete().status == 0
    assert second.add().status == 0, "the released address is free again"


@pytest.mark.parametrize("node_settings", [NodeSettings(ipam_plugin_dirs=())], indirect=True)
def test_a_missing_ipam_plugin_is_an_ipam_failure(node, sandboxes, tmp_path):
    sandbox = sandboxes()
    before = snapshot(node)
    run = sandbox.call("ADD", path=str(tmp_path))
    assert "host-local IPAM plugin is not installed" in run.output["msg"]
    assert run.error_code == 101 and snapshot(node) == before


def test_a_namespace_deleted_during_ipam_is_an_unknown_container(node, sandboxes, tmp_path):
    """host-local, found first on CNI_PATH, is a wrapper that deletes the pod's namespace."""
    sandbox = sandboxes()
    wrapper = tmp_path / "host-local"
    wrapper.write_text(f"#!/bin/sh\nip netns delete {sandbox.netns_name}\nexec /usr/lib/cni/host-local\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    before = snapshot(node)
    run = sandbox.call("ADD", path=f"{tmp_path}:/usr/lib/cni")
    assert not netns.exists(sandbox.netns_name)
    assert sandbox.netns in run.output["msg"]
    assert_failed_cleanly(node, sandbox, run, 3, before)


def test_a_taken_host_interface_name_fails_and_is_left_alone(node, sandboxes):
    sandbox = sandboxes("web")
    taken = host_interface_name(sandbox.namespace, sandbox.name)
    netns.run(node.netns, "ip", "link", "add", taken, "type", "bridge")
    before = snapshot(node)
    run = sandbox.add()
    assert taken in run.output["msg"]
    assert_failed_cleanly(node, sandbox, run, 102, before)
    assert links(node)[taken]["linkinfo"]["info_kind"] == "bridge"


def test_a_taken_pod_interface_name_fails_and_is_left_alone(node, sandboxes):
    sandbox = sandboxes()
    netns.run(sandbox.netns_name, "ip", "link", "add", "eth0", "type", "bridge")
    before = snapshot(node)
    run = sandbox.add()
    assert run.error_code == 102 and "eth0" in run.output["msg"], run.stdout
    assert snapshot(node) == before
    assert pod_link(sandbox.netns_name, "eth0") is not None, "the pod's own eth0 stays"


class AttachThenFail:
    """The real datapath, except that attach fails after the port and flows are in place."""

    def __init__(self, real: PodDatapath, *, then=None) -> None:
        self.real = real
        self.then = then

    async def attach(self, attachment: PodAttachment) -> PodInterface:
        interface = await self.real.attach(attachment)
        if self.then is not None:
            self.then(attachment)
            return interface
        raise RuntimeError("injected: the datapath refuses the pod")

    async def detach(self, container_id: str) -> PodInterface | None:
        return await self.real.detach(container_id)

    def get(self, container_id: str) -> PodInterface | None:
        return self.real.get(container_id)

    def interfaces(self) -> list[PodInterface]:
        return self.real.interfaces()

    async def pod_ports(self) -> list[RecordedPort]:
        return await self.real.pod_ports()


@pytest.mark.parametrize("node_settings", [NodeSettings(wrap_datapath=AttachThenFail)], indirect=True)
def test_a_datapath_failure_removes_port_flows_veth_and_address(node, sandboxes):
    sandbox = sandboxes()
    before = snapshot(node)
    run = sandbox.add()
    assert "injected" in run.output["msg"] and "attach" in run.output["msg"]
    assert_failed_cleanly(node, sandbox, run, 102, before)


def _delete_namespace(attachment: PodAttachment) -> None:
    netns.delete(Path(attachment.netns).name)


@pytest.mark.parametrize(
    "node_settings",
    [NodeSettings(wrap_datapath=lambda real: AttachThenFail(real, then=_delete_namespace))],
    indirect=True,
)
def test_a_namespace_gone_before_addresses_undoes_the_attachment(node, sandboxes):
    """The namespace disappears right after the attach: configuring the pod's interface fails."""
    sandbox = sandboxes()
    before = snapshot(node)
    run = sandbox.add()
    assert "configure eth0" in run.output["msg"]
    assert_failed_cleanly(node, sandbox, run, 3, before)
    assert reservations(node) == {}


def test_an_add_abandoned_by_its_plugin_is_undone(node, sandboxes, tmp_path):
    """The runtime kills the plugin mid-ADD (while host-local, here a slow wrapper, still runs):
    the server's call is cancelled and its undo waits for the running steps, then removes them."""
    sandbox = sandboxes()
    wrapper = tmp_path / "host-local"
    wrapper.write_text("#!/bin/sh\nsleep 1\nexec /usr/lib/cni/host-local\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    before = snapshot(node)
    environ = {
        "PATH": os.environ["PATH"],
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": sandbox.container_id,
        "CNI_NETNS": sandbox.netns,
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": pod_args(sandbox.namespace, sandbox.name),
        "CNI_PATH": f"{tmp_path}:/usr/lib/cni",
    }
    plugin = subprocess.Popen([str(PLUGIN)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=environ)
    try:
        plugin.stdin.write(json.dumps(sandbox.config()).encode())
        plugin.stdin.close()
        host = host_interface_name(sandbox.namespace, sandbox.name)
        deadline = time.monotonic() + 5
        while host not in links(node) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host in links(node), "the veth exists while host-local still sleeps"
    finally:
        plugin.kill()
        plugin.wait()
    deadline = time.monotonic() + 10
    while snapshot(node) != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert snapshot(node) == before
    assert pod_link(sandbox.netns_name, "eth0") is None
    assert sandbox.add().status == 0, "the pod can be added afresh"
