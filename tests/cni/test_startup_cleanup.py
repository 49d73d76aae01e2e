"""The stale pod clean-up at start-up, on a real node (OVS, veths, host-local) with real Pod
objects in the API stand-in: pods are added through the real plugin, the node's agent side is
stopped, the Pods change, and the next start removes exactly what no pod holds any more."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient, Configuration

from agent.cniserver.nodepods import ApiNodePods
from lab import netns
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import PODS
from pyantrea_kube.rest import RestClient
from pyantrea_testing.cninode import BRIDGE, Node, NodeSettings
from pyantrea_testing.cniruntime import Sandbox, host_local
from tests.cni.inspect import NETWORK, links, pod_link, reservations
from tests.kubecluster import LoopbackCluster, wait_for_default_account

pytestmark = pytest.mark.ovs

NODE = "node1"
AT_ONCE = {"gracePeriodSeconds": 0}
"""How a kubelet confirms a deletion; none runs here."""


@pytest.fixture
def kubernetes(tmp_path: Path) -> Iterator[LoopbackCluster]:
    with LoopbackCluster(tmp_path / "kubernetes") as cluster:
        yield cluster


@pytest.fixture
def api(kubernetes: LoopbackCluster) -> Iterator[ApiClient]:
    client = load_api_client(kubernetes.admin_kubeconfig)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def rest(api: ApiClient) -> RestClient:
    return RestClient(api)


@pytest.fixture
def node_settings(api: ApiClient) -> NodeSettings:
    return NodeSettings(node_pods=ApiNodePods(api, NODE))


def create_pod(rest: RestClient, name: str, *, node: str = NODE) -> str:
    """A Pod bound to `node`, as the scheduler leaves it (no status yet); its uid."""
    body = {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app"}]},
    }
    wait_for_default_account(rest, "default")
    return rest.create(PODS, "default", body)["metadata"]["uid"]


def write_pod_ip(rest: RestClient, name: str, ip: str) -> None:
    """What the kubelet does after the ADD."""
    status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}
    rest.patch(PODS, "default", name, status, subresource="status")


def added(sandbox: Sandbox) -> tuple[str, str, str]:
    """ADD through the plugin: the pod's host interface, address and MAC."""
    run = sandbox.add()
    assert run.status == 0, run.stdout + run.stderr
    host, pod = run.output["interfaces"]
    return host["name"], run.output["ips"][0]["address"].split("/")[0], pod["mac"]


def ports(node: Node) -> set[str]:
    return set(node.ovs.vsctl("list-ports", BRIDGE).split())


def flows_of(node: Node, ip: str, mac: str) -> list[str]:
    dump = node.ovs.ofctl("dump-flows", BRIDGE, options=("--no-stats",))
    pattern = re.compile(rf"\b{re.escape(ip)}\b|{re.escape(mac)}", re.IGNORECASE)
    return [line for line in dump.splitlines() if pattern.search(line)]


def reserve(node: Node, command: str, container_id: str, ip: str) -> int:
    """host-local itself on the node's IPAM directory, for `ip` alone: its exit status."""
    return host_local(command, container_id, node.state_dir / "ipam", str(node.settings.pod_cidr), ip).status


def assert_allocatable(node: Node, ip: str) -> None:
    """host-local hands `ip` out again (and takes it back)."""
    assert reserve(node, "ADD", "c-probe", ip) == 0
    assert reserve(node, "DEL", "c-probe", ip) == 0


def test_pods_deleted_or_created_again_while_down_lose_everything_and_the_others_keep_it(
    node, sandboxes, rest
):
    infrastructure = ports(node)
    web = sandboxes("web", uid=create_pod(rest, "web"))
    db = sandboxes("db", uid=create_pod(rest, "db"))
    gone = sandboxes("gone", uid=create_pod(rest, "gone"))
    again = sandboxes("again", uid=create_pod(rest, "again"))
    web_host, web_ip, web_mac = added(web)
    write_pod_ip(rest, "web", web_ip)
    db_host, db_ip, db_mac = added(db)  # the agent stops before the kubelet writes db's status
    gone_host, gone_ip, gone_mac = added(gone)
    again_host, again_ip, again_mac = added(again)

    node.stop()
    rest.delete(PODS, "default", "gone", body=AT_ONCE)  # its sandbox (netns) is still there: the veth too
    rest.delete(PODS, "default", "again", body=AT_ONCE)
    new_uid = create_pod(rest, "again")
    node.start()

    assert ports(node) == infrastructure | {web_host, db_host}
    assert flows_of(node, gone_ip, gone_mac) == [] and flows_of(node, again_ip, again_mac) == []
    assert gone_host not in links(node) and again_host not in links(node)
    assert pod_link(gone.netns_name, "eth0") is None, "the veth is gone, its pod end with it"
    assert set(reservations(node)) == {web_ip, db_ip}
    assert_allocatable(node, gone_ip)

    for host, ip, mac in ((web_host, web_ip, web_mac), (db_host, db_ip, db_mac)):
        assert host in ports(node) and links(node)[host]["linkinfo"]["info_kind"] == "veth"
        assert flows_of(node, ip, mac) != []
    ping = netns.run(web.netns_name, "ping", "-c", "2", "-i", "0.2", "-W", "2", db_ip, check=False)
    assert ping.returncode == 0, ping.stdout

    # The Pod created again gets its network now: the old sandbox's interface no longer blocks it.
    netns.delete(again.netns_name)
    netns.create(again.netns_name)
    again.container_id, again.uid = f"{again.container_id}-2", new_uid
    assert added(again)[0] == again_host


def test_leftovers_without_an_attached_port_go_unless_a_pod_holds_them(node, sandboxes, rest):
    infrastructure = ports(node)
    kept = sandboxes("kept", uid=create_pod(rest, "kept"))
    kept_host, kept_ip, _ = added(kept)
    create_pod(rest, "lost")  # its port's device went away, but the Pod is there
    create_pod(rest, "waiting")
    write_pod_ip(rest, "waiting", "10.244.1.41")  # no port, but its status holds the address
    node.stop()
    for port, pod, ip in (("ghost-0a1b2c", "ghost", "10.244.1.30"), ("lost-0a1b2c", "lost", "10.244.1.31")):
        ids = {"container-id": f"c-{pod}", "pod-name": pod, "pod-namespace": "default", "ip-address": ip}
        node.ovs.vsctl(
            "add-port", BRIDGE, port, "--", "set", "Interface", port,
            *(f"external_ids:{key}={value}" for key, value in ids.items()),
        )  # fmt: skip
        assert reserve(node, "ADD", f"c-{pod}", ip) == 0
    assert reserve(node, "ADD", "c-crashed", "10.244.1.40") == 0  # an ADD that died
    assert reserve(node, "ADD", "c-waiting", "10.244.1.41") == 0
    (node.state_dir / "ipam" / NETWORK / "10.244.1.42").write_text("c-older")  # host-local < 1.0
    node.start()

    assert ports(node) == infrastructure | {kept_host, "lost-0a1b2c"}
    assert set(reservations(node)) == {kept_ip, "10.244.1.31", "10.244.1.41"}
    for ip in ("10.244.1.30", "10.244.1.40", "10.244.1.42"):
        assert_allocatable(node, ip)


def test_without_the_pod_list_nothing_is_removed_and_pods_still_get_networking(node, sandboxes):
    pod = sandboxes("web")  # no Pod object anywhere: a clean-up that ran would remove it
    host, ip, mac = added(pod)
    unreachable = ApiClient(Configuration(host="http://127.0.0.1:9"))
    try:
        node.settings = NodeSettings(node_pods=ApiNodePods(unreachable, NODE))
        node.restart()
    finally:
        unreachable.close()

    assert host in ports(node) and flows_of(node, ip, mac) != [] and set(reservations(node)) == {ip}
    assert added(sandboxes("next"))[1] != ip
