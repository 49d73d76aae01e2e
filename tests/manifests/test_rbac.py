"""The manifest's RBAC rules, derived from what the code does rather than written down by hand.

The real programs run against the lab's API stand-in, each with a token of its own, configured
from the manifest's ConfigMap (with flags for what differs on this machine, as a pod's
environment differs from a node's). The stand-in records every resource request with the verb an
authorizer sees. Each component's bindings in the manifest must allow every request it made
(nothing missing) and every rule they grant must have been used (nothing excessive).

Two things the controller does only inside a cluster cannot happen against the stand-in (it
speaks plain HTTP, so no in-cluster client configuration, and it reviews no tokens): publishing
its CA to the caConfigMap and reviewing an agent's token. The test runs the controller's own
code for both (`publish_config_map`, `TokenReviewAuthenticator`) with the controller's identity.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Interface
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes.client import ApiException

from config.controller import ControllerConfig
from config.loader import load_text
from controlplane.auth.publish import publish_config_map
from controlplane.auth.tokenreview import TokenReviewAuthenticator
from controlplane.status.writer import ANNOTATION
from kube.config import load_api_client
from kube.resources import NAMESPACES, NETWORK_POLICIES, NODES, PODS
from kube.rest import RestClient
from lab import netns
from lab.apiserver import ApiServerSettings, ApiServerThread
from lab.apiserver.audit import ApiRequest
from lab.apiserver.kubeconfig import write_kubeconfig
from lab.nodes import NodeSet
from manifests.configmap import NAME
from tests.cni.runtime import cni, network_config, pod_args
from tests.conftest import _require_root_and_ovs, unique_name
from tests.manifests.conftest import container, find
from tests.manifests.rbac import audit, describe, grants_of, service_account
from tests.programs import AgentProcess, ProgramProcess

T = TypeVar("T")
API_ADDRESS = IPv4Interface("192.168.77.254/24")
AGENT = service_account("kube-system", "pyantrea-agent")
CONTROLLER = service_account("kube-system", "pyantrea-controller")
PYANTCTL = service_account("kube-system", "pyantctl")
ADMIN = "test-admin"
_WAIT_SECONDS = 60.0


class Recorder:
    """Every resource request the API stand-in serves, by the token that made it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[ApiRequest] = []

    def __call__(self, request: ApiRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def of(self, user: str) -> list[ApiRequest]:
        with self._lock:
            return [request for request in self._requests if request.user == user]


@pytest.fixture
def node_set(tmp_path: Path) -> Iterator[NodeSet]:
    _require_root_and_ovs()
    with NodeSet(tmp_path, prefix=unique_name("rb"), count=2) as nodes:
        nodes.underlay.set_address(API_ADDRESS)
        yield nodes


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def apiserver(node_set: NodeSet, recorder: Recorder) -> Iterator[ApiServerThread]:
    server = ApiServerThread(
        ApiServerSettings(host=str(API_ADDRESS.ip), bookmark_interval=1.0, on_request=recorder)
    )
    netns.call_in(netns.netns_path(node_set.underlay.name), server.start)
    try:
        yield server
    finally:
        server.stop()


def as_admin(server: ApiServerThread, node_set: NodeSet, tmp_path: Path, job: Callable[[RestClient], T]) -> T:
    """What a cluster administrator (or the kubelet) does: not part of any component's rights."""
    return as_user(ADMIN, server, node_set, tmp_path, job)


def as_user(
    user: str, server: ApiServerThread, node_set: NodeSet, tmp_path: Path, job: Callable[[RestClient], T]
) -> T:
    """`job` with a client that presents `user`'s token, from the underlay."""
    kubeconfig = write_kubeconfig(tmp_path / f"{user.replace(':', '-')}.kubeconfig", server.url, user)

    def call() -> T:
        api = load_api_client(kubeconfig)
        try:
            return job(RestClient(api))
        finally:
            api.close()

    return netns.call_in(netns.netns_path(node_set.underlay.name), call)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {_WAIT_SECONDS:.0f}s"
        time.sleep(0.2)


def assert_rights_match(manifest: list[dict], user: str, requests: list[ApiRequest]) -> None:
    result = audit(grants_of(manifest, user), requests)
    problems = [f"refused: {describe(request)}" for request in dict.fromkeys(result.refused)]
    problems += [f"granted but never used: {grant}" for grant in result.unused]
    assert not problems, f"{user}'s rights in manifests/base/rbac.yml do not match its code:\n" + "\n".join(
        problems
    )


def test_the_agents_rights_are_exactly_what_it_uses(manifest, node_set, apiserver, recorder, tmp_path):
    node, peer = node_set[0], node_set[1]
    as_admin(apiserver, node_set, tmp_path, lambda rest: rest.create(NODES, None, node.node_object()))

    # The agent as the DaemonSet runs it: the ConfigMap's file, NODE_NAME from the environment,
    # the ServiceAccount's identity; flags for this machine's paths, datapath and API server.
    conf = tmp_path / "pyantrea-agent.conf"
    conf.write_text(find(manifest, "ConfigMap", NAME)["data"]["pyantrea-agent.conf"])
    kubeconfig = write_kubeconfig(tmp_path / "agent.kubeconfig", apiserver.url, AGENT)
    local = node.agent_config(kubeconfig=kubeconfig)
    flags = [f"--{key}={value}" for key, value in local.items() if key != "nodeName"]
    agent = AgentProcess(node, conf, tmp_path / "agent.log", flags=flags, env={"NODE_NAME": node.name})
    try:
        # Before its CNI server listens, it lists this node's pods (the stale pod clean-up).
        agent.wait_running()
        agent.wait_ready()
        # A peer joins: the agent follows it (tunnel flows, routes) through its informer.
        as_admin(apiserver, node_set, tmp_path, lambda rest: rest.create(NODES, None, peer.node_object()))
        # A pod is set up and torn down through the agent's CNI socket, as the kubelet would.
        pod = unique_name("rbp")
        netns.create(pod)
        try:
            for command in ("ADD", "DEL"):
                call = cni(
                    command,
                    network_config(local["cniSocket"]),
                    container_id="c1",
                    netns=str(netns.netns_path(pod)),
                    args=pod_args("default", "web"),
                )
                assert call.status == 0, call.stdout
        finally:
            netns.delete(pod)
    finally:
        returncode = agent.stop()
    assert returncode == 0, agent.log.read_text()[-3000:]

    seen = recorder.of(AGENT)
    assert {request.verb for request in seen} >= {"list", "watch"}
    assert_rights_match(manifest, AGENT, seen)


def confinement(security: dict) -> list[str]:
    """setpriv arguments that give a root process what this container security context leaves it."""
    assert set(security) == {"allowPrivilegeEscalation", "capabilities"}, security
    assert security["capabilities"] == {"drop": ["ALL"]} and security["allowPrivilegeEscalation"] is False
    # Root without a bounding set gets no capabilities at exec; no-new-privs as Kubernetes sets it.
    return ["setpriv", "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all"]


def shop(node_name: str) -> list[tuple[object, str | None, dict]]:
    """A namespace with a pod on the node and a policy selecting it: (resource, namespace, body)."""
    pod = {
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"nodeName": node_name, "containers": [{"name": "web", "image": "web"}]},
    }
    policy = {
        "metadata": {"name": "web-ingress"},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]},
    }
    return [
        (NAMESPACES, None, {"metadata": {"name": "shop"}}),
        (PODS, "shop", pod),
        (NETWORK_POLICIES, "shop", policy),
    ]


def test_the_controllers_rights_are_exactly_what_it_uses(manifest, node_set, apiserver, recorder, tmp_path):
    node = node_set[0]

    def populate(rest: RestClient) -> None:
        rest.create(NODES, None, node.node_object())
        for resource, namespace, body in shop(node.name):
            rest.create(resource, namespace, body)

    as_admin(apiserver, node_set, tmp_path, populate)

    # The controller as its Deployment runs it (the ConfigMap's file, the container's security
    # context), on the node's network; flags for this
    # machine's ports, directories and API server.
    text = find(manifest, "ConfigMap", NAME)["data"]["pyantrea-controller.conf"]
    conf = tmp_path / "pyantrea-controller.conf"
    conf.write_text(text)
    kubeconfig = write_kubeconfig(tmp_path / "controller.kubeconfig", apiserver.url, CONTROLLER)
    flags = [f"--kubeconfig={kubeconfig}", "--apiPort=0", "--httpPort=0", "--apiBindAddress=127.0.0.1"]
    flags.append(f"--tlsCertDir={tmp_path / 'controller-tls'}")
    deployment = find(manifest, "Deployment", "pyantrea-controller")
    security = container(deployment["spec"]["template"]["spec"], "pyantrea-controller")["securityContext"]
    argv = ["ip", "netns", "exec", node.netns, *confinement(security)]
    argv += [sys.executable, "-m", "controlplane.main", "--config", str(conf)]
    controller = ProgramProcess([*argv, *flags], tmp_path / "controller.log")
    try:
        controller.wait_for("controller running")

        def realization_written() -> bool:
            def annotations(rest: RestClient) -> dict:
                stored = rest.get(NETWORK_POLICIES, "shop", "web-ingress")
                return stored["metadata"].get("annotations") or {}

            return ANNOTATION in as_admin(apiserver, node_set, tmp_path, annotations)

        wait_until(realization_written, "the controller wrote the policy's realization")
    finally:
        returncode = controller.stop()
    assert returncode == 0, controller.log.read_text()[-3000:]

    # Only in a cluster: the CA published to its ConfigMap, an agent's token reviewed. The
    # stand-in serves neither ConfigMaps nor TokenReviews: what counts here is what is asked.
    config = load_text(ControllerConfig, text)

    def in_cluster_only(rest: RestClient) -> None:
        try:
            asyncio.run(publish_config_map(rest, config.ca_config_map, b"-----BEGIN CERTIFICATE-----\n"))
        except ApiException as error:
            assert error.status == 404
        assert asyncio.run(TokenReviewAuthenticator(rest).authenticate("an-agent-token")) is None

    as_user(CONTROLLER, apiserver, node_set, tmp_path, in_cluster_only)

    seen = recorder.of(CONTROLLER)
    assert_rights_match(manifest, CONTROLLER, seen)


def test_pyantctl_has_no_rights_while_it_makes_no_api_calls(manifest):
    # pyantctl talks to the controller's JSON API, not to Kubernetes: its account is bound to nothing.
    assert grants_of(manifest, PYANTCTL) == []
