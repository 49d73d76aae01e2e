"""A table of malformed calls, each answered with its exact CNI error code, by the plugin
executable as the runtime calls it and by the agent's service when the plugin is bypassed."""

import json
from ipaddress import IPv4Network

import grpc
import pytest

from proto.cni.v1beta1 import cni_pb2, cni_pb2_grpc
from pyantrea_testing.cninode import NodeSettings
from pyantrea_testing.cniruntime import exec_plugin, pod_args
from tests.cni.inspect import snapshot

pytestmark = pytest.mark.ovs


def base_env(sandbox):
    return {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": sandbox.container_id,
        "CNI_NETNS": sandbox.netns,
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": pod_args(sandbox.namespace, sandbox.name),
        "CNI_PATH": "/usr/lib/cni",
    }


def config(sandbox, **changes):
    document = {**sandbox.config(), **changes}
    return json.dumps({key: value for key, value in document.items() if value is not None}).encode()


MISSING = "/var/run/netns/does-not-exist"
NEVER_ADDED = {"interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/x"}], "ips": []}

# (case, environment changes (None removes the variable), configuration changes or raw stdin, code)
CASES = [
    ("no CNI_COMMAND", {"CNI_COMMAND": None}, {}, 4),
    ("unknown CNI_COMMAND", {"CNI_COMMAND": "ATTACH"}, {}, 4),
    ("no CNI_CONTAINERID", {"CNI_CONTAINERID": None}, {}, 4),
    ("CNI_CONTAINERID with a slash", {"CNI_CONTAINERID": "a/b"}, {}, 4),
    ("no CNI_NETNS on ADD", {"CNI_NETNS": None}, {}, 4),
    ("relative CNI_NETNS", {"CNI_NETNS": "netns/p"}, {}, 4),
    ("no CNI_IFNAME", {"CNI_IFNAME": None}, {}, 4),
    ("CNI_IFNAME too long", {"CNI_IFNAME": "eth0123456789abc"}, {}, 4),
    ("CNI_IFNAME with a slash", {"CNI_IFNAME": "eth/0"}, {}, 4),
    ("CNI_IFNAME '..'", {"CNI_IFNAME": ".."}, {}, 4),
    ("CNI_ARGS without the pod", {"CNI_ARGS": "IgnoreUnknown=1"}, {}, 4),
    ("CNI_ARGS not K=V", {"CNI_ARGS": "K8S_POD_NAME"}, {}, 4),
    ("pod name not a Kubernetes name", {"CNI_ARGS": "K8S_POD_NAMESPACE=default;K8S_POD_NAME=Web_1"}, {}, 4),
    ("bad JSON", {}, b'{"cniVersion": "1.0.0", ', 6),
    ("JSON but not an object", {}, b'["1.0.0"]', 6),
    ("empty stdin", {}, b"", 6),
    ("cniVersion not a string", {}, {"cniVersion": 1}, 6),
    ("mtu not a number", {}, {"mtu": "1450"}, 6),
    ("unknown cniVersion", {}, {"cniVersion": "9.9.9"}, 1),
    ("no cniVersion", {}, {"cniVersion": None}, 1),
    ("CHECK in 0.3.1", {"CNI_COMMAND": "CHECK"}, {"cniVersion": "0.3.1"}, 1),
    ("no network name", {}, {"name": None}, 7),
    ("network name with a space", {}, {"name": "my net"}, 7),
    ("mtu too small", {}, {"mtu": 20}, 7),
    ("relative cniSocket", {}, {"cniSocket": "cni.sock"}, 7),
    ("CHECK without prevResult", {"CNI_COMMAND": "CHECK"}, {}, 7),
    ("ipam dhcp", {}, {"ipam": {"type": "dhcp"}}, 2),
    ("prevResult malformed", {}, {"prevResult": {"ips": [{"address": "x"}]}}, 6),
    ("missing netns", {"CNI_NETNS": MISSING}, {}, 3),
    ("CHECK of a container never added", {"CNI_COMMAND": "CHECK"}, {"prevResult": NEVER_ADDED}, 103),
]
SERVICE_CASES = [case for case in CASES if case[1].get("CNI_COMMAND", "ADD") in ("ADD", "CHECK")]


@pytest.mark.parametrize(
    ("env_changes", "stdin", "code"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_the_plugin_answers_each_malformed_call_with_its_code(node, sandboxes, env_changes, stdin, code):
    sandbox = sandboxes()
    before = snapshot(node)
    environ = {**base_env(sandbox), **env_changes}
    environ = {key: value for key, value in environ.items() if value is not None}
    data = stdin if isinstance(stdin, bytes) else config(sandbox, **stdin)
    run = exec_plugin(environ, data)
    assert run.status == 1
    error = run.output
    assert error["code"] == code, error
    assert isinstance(error["msg"], str) and error["msg"]
    assert "Traceback" not in run.stderr
    assert snapshot(node) == before


@pytest.mark.parametrize(
    "node_settings", [NodeSettings(pod_cidr=IPv4Network("10.244.7.0/30"))], indirect=True
)
def test_a_full_subnet_is_101(node, sandboxes):
    assert sandboxes().add().status == 0
    run = sandboxes().add()
    assert run.error_code == 101, run.stdout


@pytest.mark.parametrize(
    ("env_changes", "stdin", "code"), [case[1:] for case in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES]
)
def test_the_service_validates_the_same_calls_itself(node, sandboxes, env_changes, stdin, code):
    """The agent does not trust the plugin: the same calls straight over gRPC give the same codes."""
    sandbox = sandboxes()
    environ = {**base_env(sandbox), **env_changes}
    data = stdin if isinstance(stdin, bytes) else config(sandbox, **stdin)
    args = cni_pb2.CniCmdArgs(
        container_id=environ.get("CNI_CONTAINERID") or "",
        netns=environ.get("CNI_NETNS") or "",
        ifname=environ.get("CNI_IFNAME") or "",
        args=environ.get("CNI_ARGS") or "",
        path=environ.get("CNI_PATH") or "",
        network_configuration=data,
    )
    with grpc.insecure_channel(f"unix:{node.socket}") as channel:
        stub = cni_pb2_grpc.CniStub(channel)
        method = stub.CmdCheck if environ.get("CNI_COMMAND") == "CHECK" else stub.CmdAdd
        response = method(cni_pb2.CniCmdRequest(cni_args=args), timeout=30)
    assert response.HasField("error") and not response.cni_result
    assert response.error.code == code, response.error
