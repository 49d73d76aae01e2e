"""The ConfigMap's files load the way the programs load them: both configuration files through
`pyantrea_config.loader.load_text` (the agent with NODE_NAME, as the DaemonSet sets it) to the schema
defaults plus the cluster settings, and the conflist as a runtime hands it to the plugin, decoded
by the plugin's own `cni.netconf`."""

from __future__ import annotations

import json

import pytest

from cni.netconf import decode_config
from cni.versions import allows_check
from manifests.configmap import CONFLIST_KEY
from pyantrea_config.agent import AgentConfig
from pyantrea_config.controller import ControllerConfig
from pyantrea_config.errors import ConfigError
from pyantrea_config.loader import load_document, load_text
from tests.manifests.conftest import find

NODE = {"NODE_NAME": "worker-1"}


@pytest.fixture
def data(manifest) -> dict[str, str]:
    return find(manifest, "ConfigMap", "pyantrea-config")["data"]


def test_the_agent_file_loads_to_the_schema_defaults(data):
    loaded = load_text(AgentConfig, data["pyantrea-agent.conf"], source="pyantrea-agent.conf", environ=NODE)
    assert loaded == load_document(AgentConfig, None, environ=NODE)
    assert loaded.node_name == "worker-1"


def test_the_agent_file_needs_the_node_name_from_the_environment(data):
    with pytest.raises(ConfigError) as error:
        load_text(AgentConfig, data["pyantrea-agent.conf"], source="pyantrea-agent.conf", environ={})
    assert error.value.key == "nodeName"


def test_the_controller_file_loads_to_the_defaults(data):
    title = "pyantrea-controller.conf"
    assert load_text(ControllerConfig, data[title], source=title, environ={}) == ControllerConfig()


def test_the_conflist_is_a_cni_network_list_for_the_agents_socket(data):
    conflist = json.loads(data[CONFLIST_KEY])
    assert set(conflist) == {"cniVersion", "name", "plugins"}
    (plugin,) = conflist["plugins"]
    assert plugin["type"] == "pyantrea"
    assert "mtu" not in plugin  # the agent's defaultMTU decides
    agent = load_text(AgentConfig, data["pyantrea-agent.conf"], environ=NODE)
    commands = ["ADD", "DEL"] + (["CHECK"] if allows_check(conflist["cniVersion"]) else [])
    for command in commands:
        # What a runtime passes the plugin for one entry of a list (CNI spec, section 3).
        derived = {"cniVersion": conflist["cniVersion"], "name": conflist["name"], **plugin}
        decoded = decode_config(json.dumps(derived).encode(), command)
        assert decoded.cni_socket == str(agent.cni_socket)
        assert decoded.mtu is None
        assert decoded.name == "pyantrea"
