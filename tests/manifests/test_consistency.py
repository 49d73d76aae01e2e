"""The manifest agrees with the code it deploys: configuration paths and ports from the config
schemas, the paths the programs and image scripts use, and what a CNI on every node needs
(host network, node-critical priority, every taint tolerated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.controller.client import DEFAULT_PORT, SERVER_NAME
from agent.main import DEFAULT_CONFIG as AGENT_DEFAULT_CONFIG
from cni import install as install_cni
from controlplane.auth.tokenreview import AGENT_USER
from controlplane.main import DEFAULT_CONFIG as CONTROLLER_DEFAULT_CONFIG
from manifests.configmap import CONFLIST_KEY, NAME
from pyantrea_config.agent import AgentConfig
from pyantrea_config.controller import ControllerConfig
from pyantrea_config.schema import leaves
from tests.manifests.conftest import container, find, mount_for, volume
from tests.manifests.images import START_OVS, load_script
from tests.manifests.rbac import service_account

AGENT = {key: entry.default for key, entry in leaves(AgentConfig).items()}
CONTROLLER = {key: entry.default for key, entry in leaves(ControllerConfig).items()}


@pytest.fixture
def agent_pod(manifest):
    return find(manifest, "DaemonSet", "pyantrea-agent")["spec"]["template"]["spec"]


@pytest.fixture
def controller_pod(manifest):
    return find(manifest, "Deployment", "pyantrea-controller")["spec"]["template"]["spec"]


def config_file_of(pod_spec, name: str) -> Path:
    """The --config file of a container, checked to be a key of the pyantrea-config ConfigMap."""
    command = container(pod_spec, name)["command"]
    path = Path(command[command.index("--config") + 1])
    mount, vol = mount_for(pod_spec, name, path)
    assert vol["configMap"]["name"] == NAME
    assert path.parent == Path(mount["mountPath"])
    return path


def port(pod_spec, container_name: str, port_name: str) -> int:
    ports = container(pod_spec, container_name)["ports"]
    (match,) = [p["containerPort"] for p in ports if p["name"] == port_name]
    return match


def test_the_programs_read_their_files_of_the_configmap(manifest, agent_pod, controller_pod):
    data = find(manifest, "ConfigMap", NAME)["data"]
    agent_file = config_file_of(agent_pod, "pyantrea-agent")
    assert agent_file == AGENT_DEFAULT_CONFIG
    assert agent_file.name in data
    controller_file = config_file_of(controller_pod, "pyantrea-controller")
    assert controller_file == CONTROLLER_DEFAULT_CONFIG
    assert controller_file.name in data


def test_ports_and_probes_follow_the_configuration(manifest, agent_pod, controller_pod):
    assert port(agent_pod, "pyantrea-agent", "api") == AGENT["apiPort"]
    assert port(controller_pod, "pyantrea-controller", "api") == CONTROLLER["apiPort"]
    assert port(controller_pod, "pyantrea-controller", "http") == CONTROLLER["httpPort"]
    # the agent's API speaks HTTPS only (agent.observe.access); the controller's HTTP port, HTTP
    for pod, name, http_port, scheme in (
        (agent_pod, "pyantrea-agent", "api", {"scheme": "HTTPS"}),
        (controller_pod, "pyantrea-controller", "http", {}),
    ):
        spec = container(pod, name)
        assert spec["livenessProbe"]["httpGet"] == {"path": "/livez", "port": http_port, **scheme}
        assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": http_port, **scheme}
    env = {e["name"]: e.get("value") for e in container(controller_pod, "pyantrea-controller")["env"]}
    assert env["PYANTREA_SERVER"] == f"http://127.0.0.1:{CONTROLLER['httpPort']}"
    service = find(manifest, "Service", "pyantrea")
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] == "api"
    labels = find(manifest, "Deployment", "pyantrea-controller")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_agents_find_the_controller_through_the_service_and_its_certificate(manifest, agent_pod):
    # In a pod the agent reads PYANTREA_SERVICE_HOST and _PORT, which the kubelet sets for the
    # Service `pyantrea` of the pod's namespace; the certificate names the Service.
    service = find(manifest, "Service", "pyantrea")
    assert service["metadata"]["namespace"] == "kube-system"
    assert f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc" == SERVER_NAME
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == DEFAULT_PORT
    assert agent_pod.get("enableServiceLinks", True)


def test_the_controller_accepts_the_agents_service_account(manifest, agent_pod):
    account = find(manifest, "ServiceAccount", agent_pod["serviceAccountName"])
    assert service_account(account["metadata"]["namespace"], account["metadata"]["name"]) == AGENT_USER


def test_the_agent_gets_its_node_name_from_the_downward_api(agent_pod):
    env = {e["name"]: e for e in container(agent_pod, "pyantrea-agent")["env"]}
    assert leaves(AgentConfig)["nodeName"].env == "NODE_NAME"
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


@pytest.mark.parametrize("key", ["ovsRunDir", "cniStateDir", "policyStateDir"])
def test_the_agents_state_directories_are_on_the_node(agent_pod, key):
    _, vol = mount_for(agent_pod, "pyantrea-agent", AGENT[key])
    assert "hostPath" in vol, f"{key} {AGENT[key]} is not on a hostPath volume"


def test_the_cni_socket_is_on_the_node_where_the_conflist_says(manifest, agent_pod):
    _, vol = mount_for(agent_pod, "pyantrea-agent", AGENT["cniSocket"])
    assert vol["hostPath"]["path"] == str(AGENT["cniSocket"].parent)
    data = find(manifest, "ConfigMap", NAME)["data"]
    assert f'"cniSocket": "{AGENT["cniSocket"]}"' in data[CONFLIST_KEY]


def test_the_agent_reads_the_ca_the_controller_publishes(manifest, agent_pod):
    ca_file = AGENT["controllerCAFile"]
    mount, vol = mount_for(agent_pod, "pyantrea-agent", ca_file)
    assert vol["configMap"] == {"name": CONTROLLER["caConfigMap"], "optional": True}
    # A directory mount, not subPath: the kubelet then updates the file when the CA changes.
    assert "subPath" not in mount
    assert ca_file == Path(mount["mountPath"]) / "ca.crt"
    role = find(manifest, "Role", "pyantrea-controller")
    named = [rule for rule in role["rules"] if rule.get("resourceNames")]
    assert named and all(rule["resourceNames"] == [CONTROLLER["caConfigMap"]] for rule in named)


def test_the_controller_keeps_its_certificate_on_a_pod_volume(controller_pod):
    _, vol = mount_for(controller_pod, "pyantrea-controller", CONTROLLER["tlsCertDir"])
    assert vol == {"name": "controller-tls", "emptyDir": {}}


def test_ovs_and_the_agent_share_the_run_directory(agent_pod):
    start_ovs = load_script(START_OVS)
    assert container(agent_pod, "pyantrea-ovs")["command"] == ["start-ovs"]
    assert AGENT["ovsRunDir"] == start_ovs.DEFAULT_RUN_DIR
    _, ovs_volume = mount_for(agent_pod, "pyantrea-ovs", AGENT["ovsRunDir"])
    _, agent_volume = mount_for(agent_pod, "pyantrea-agent", AGENT["ovsRunDir"])
    assert ovs_volume is agent_volume
    assert ovs_volume["hostPath"]["path"] == str(AGENT["ovsRunDir"])


def test_install_cni_writes_the_nodes_cni_directories(agent_pod):
    spec = container(agent_pod, "install-cni")
    command = spec["command"]
    assert command[0] == "install-cni"
    host_root = Path(command[command.index("--host-root") + 1])
    assert "--bundle" not in command and "--conflist" not in command  # the defaults below apply
    mount, vol = mount_for(agent_pod, "install-cni", install_cni.DEFAULT_CONFLIST)
    assert vol["configMap"]["name"] == NAME
    assert Path(mount["mountPath"]) / CONFLIST_KEY == install_cni.DEFAULT_CONFLIST
    for relative in (install_cni.PLUGIN, install_cni.CONFLIST):
        _, vol = mount_for(agent_pod, "install-cni", host_root / relative)
        assert Path(vol["hostPath"]["path"]) == Path("/") / relative.parent
    assert spec["securityContext"] == {"capabilities": {"add": ["SYS_MODULE"]}}


def test_pod_namespaces_created_later_reach_the_agent(agent_pod):
    mount, vol = mount_for(agent_pod, "pyantrea-agent", Path("/var/run/netns/cni-1234"))
    assert vol["hostPath"]["path"] == "/var/run/netns"
    assert mount["mountPropagation"] == "HostToContainer"


def test_the_agent_runs_on_every_node_before_anything_else(agent_pod):
    assert agent_pod["hostNetwork"] is True
    assert agent_pod["priorityClassName"] == "system-node-critical"
    assert agent_pod["tolerations"] == [{"operator": "Exists"}]
    assert container(agent_pod, "pyantrea-agent")["securityContext"] == {"privileged": True}


def test_the_controller_starts_on_a_control_plane_node_without_pod_network(controller_pod):
    assert controller_pod["hostNetwork"] is True
    tolerated = {(t.get("key"), t.get("effect")) for t in controller_pod["tolerations"]}
    assert ("node-role.kubernetes.io/control-plane", "NoSchedule") in tolerated
    assert ("node.kubernetes.io/not-ready", "NoSchedule") in tolerated
    assert container(controller_pod, "pyantrea-controller")["resources"]["requests"]


def test_every_object_is_labelled_and_namespaced_in_kube_system(manifest):
    for obj in manifest:
        metadata = obj["metadata"]
        assert metadata["labels"]["app"] == "pyantrea", obj["kind"]
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert metadata["namespace"] == "kube-system", obj["kind"]


def test_every_volume_is_mounted_and_every_mount_has_a_volume(agent_pod, controller_pod):
    for pod in (agent_pod, controller_pod):
        mounted = {
            m["name"]
            for c in [*pod.get("initContainers", []), *pod["containers"]]
            for m in c.get("volumeMounts", [])
        }
        assert mounted == {v["name"] for v in pod["volumes"]}
        for name in mounted:
            volume(pod, name)
