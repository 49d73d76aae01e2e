"""Loading configuration files: every kind of bad input gives one exact message naming the key."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pyantrea_config.agent import (
    AgentConfig,
    FlowExportConfig,
    FlowExportProtocol,
    OvsDatapathType,
    TunnelType,
)
from pyantrea_config.controller import ControllerConfig
from pyantrea_config.errors import ConfigError
from pyantrea_config.kinds import HostPort
from pyantrea_config.loader import load_document, load_file, load_text

NODE = {"NODE_NAME": "node-1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "ovsBrige: br0",
            "agent.conf: ovsBrige: unknown key 'ovsBrige' (did you mean 'ovsBridge'?)",
            id="unknown-key-typo",
        ),
        pytest.param(
            "defaultMtu: 1400",
            "agent.conf: defaultMtu: unknown key 'defaultMtu' (did you mean 'defaultMTU'?)",
            id="unknown-key-case",
        ),
        pytest.param("colour: blue", "agent.conf: colour: unknown key 'colour'", id="unknown-key-no-hint"),
        pytest.param(
            "defaultMTU: '1450'",
            "agent.conf: defaultMTU: expected an integer, got string '1450'",
            id="wrong-type-int",
        ),
        pytest.param(
            "defaultMTU: true",
            "agent.conf: defaultMTU: expected an integer, got boolean true",
            id="bool-is-not-int",
        ),
        pytest.param(
            "enablePrometheusMetrics: 'yes'",
            "agent.conf: enablePrometheusMetrics: expected true or false, got string 'yes'",
            id="wrong-type-bool",
        ),
        pytest.param(
            "ovsBridge: 7",
            "agent.conf: ovsBridge: expected a string, got integer 7",
            id="wrong-type-string",
        ),
        pytest.param("ovsRunDir: ''", "agent.conf: ovsRunDir: must not be empty", id="empty-path"),
        pytest.param(
            "defaultMTU: 100000",
            "agent.conf: defaultMTU: 100000 is out of range (576..9216)",
            id="out-of-range",
        ),
        pytest.param(
            "tunnelType: vxlann",
            "agent.conf: tunnelType: 'vxlann' is not allowed (allowed: vxlan, geneve, gre, stt)",
            id="not-allowed",
        ),
        pytest.param(
            "trafficEncapMode: noEncap",
            "agent.conf: trafficEncapMode: 'noEncap' is not supported yet (supported: encap)",
            id="not-supported-yet",
        ),
        pytest.param(
            "serviceCIDR: 10.96.0.0/33",
            "agent.conf: serviceCIDR: malformed CIDR '10.96.0.0/33' (expected address/prefix-length)",
            id="malformed-cidr",
        ),
        pytest.param(
            "serviceCIDR: 10.96.0.1/12",
            "agent.conf: serviceCIDR: malformed CIDR '10.96.0.1/12': host bits are set "
            "(did you mean 10.96.0.0/12?)",
            id="cidr-host-bits",
        ),
        pytest.param(
            "apiBindAddress: 1.2.3",
            "agent.conf: apiBindAddress: malformed IP address '1.2.3'",
            id="malformed-address",
        ),
        pytest.param(
            "hostGateway: a-very-long-gateway",
            "agent.conf: hostGateway: interface name 'a-very-long-gateway' is longer than 15 characters",
            id="interface-too-long",
        ),
        pytest.param(
            "hostGateway: gw/0",
            "agent.conf: hostGateway: 'gw/0' is not a valid interface name (no '/', ':' or whitespace)",
            id="interface-bad-char",
        ),
        pytest.param(
            "controllerAddress: controller",
            "agent.conf: controllerAddress: expected host:port with a port from 1 to 65535, got 'controller'",
            id="host-port-no-port",
        ),
        pytest.param(
            "controllerAddress: '::1:10349'",
            "agent.conf: controllerAddress: expected host:port, got '::1:10349' "
            "(write IPv6 addresses as [addr]:port)",
            id="host-port-bare-ipv6",
        ),
        pytest.param(
            "flowExport: {enable: true}",
            "agent.conf: flowExport.collectorAddress: required when enable is true",
            id="section-relation",
        ),
        pytest.param(
            "flowExport: {enabled: true}",
            "agent.conf: flowExport.enabled: unknown key 'enabled' (did you mean 'enable'?)",
            id="section-unknown-key",
        ),
        pytest.param(
            "flowExport: {sampling: 0}",
            "agent.conf: flowExport.sampling: 0 is out of range (1..4294967295)",
            id="section-range",
        ),
        pytest.param(
            "flowExport: on",
            "agent.conf: flowExport: expected a mapping of keys, got boolean true",
            id="section-not-mapping",
        ),
        pytest.param(
            "ovsDatapathType: netdev\ntunnelType: stt",
            "agent.conf: tunnelType: stt needs ovsDatapathType system; netdev has no STT",
            id="relation-stt-netdev",
        ),
        pytest.param(
            "- ovsBridge",
            "agent.conf: expected a mapping of keys, got list ['ovsBridge']",
            id="not-a-mapping",
        ),
        pytest.param(
            "ovsBridge: [br-int",
            "agent.conf: not valid YAML: line 1, column 19: expected ',' or ']', but got '<stream end>'",
            id="bad-yaml",
        ),
    ],
)
def test_bad_agent_config_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(AgentConfig, text, source="agent.conf", environ=NODE)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "statusWriteMode: status",
            "controller.conf: statusWriteMode: unknown key 'statusWriteMode'",
            id="removed-key",  # NetworkPolicy has no status: realization is an annotation and Events
        ),
        pytest.param(
            "httpPort: 10349",
            "controller.conf: httpPort: must differ from apiPort (10349)",
            id="port-clash",
        ),
        pytest.param(
            "watcherQueueSize: 0",
            "controller.conf: watcherQueueSize: 0 is out of range (1..1000000)",
            id="queue-size",
        ),
        pytest.param(
            "apiPort: 70000",
            "controller.conf: apiPort: 70000 is out of range (0..65535)",
            id="port-range",
        ),
    ],
)
def test_bad_controller_config_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(ControllerConfig, text, source="controller.conf")
    assert str(caught.value) == message


def test_error_carries_key_and_reason_apart() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(AgentConfig, "flowExport: {protocol: jflow}", source="agent.conf", environ=NODE)
    assert caught.value.key == "flowExport.protocol"
    assert caught.value.reason == "'jflow' is not allowed (allowed: ipfix, netflow, sflow)"
    assert caught.value.source == "agent.conf"


def test_values_are_typed() -> None:
    text = """
ovsDatapathType: netdev
tunnelType: geneve
defaultMTU: 1400
serviceCIDR: fd00:10:96::/112
controllerAddress: "[fd00::1]:10349"
transportInterface: eth0
flowExport:
  enable: true
  protocol: sflow
  collectorAddress: collector.example:6343
"""
    config = load_text(AgentConfig, text, environ=NODE)
    assert config.node_name == "node-1"
    assert config.ovs_datapath_type is OvsDatapathType.NETDEV
    assert config.tunnel_type is TunnelType.GENEVE
    assert config.default_mtu == 1400
    assert config.service_cidr == ipaddress.ip_network("fd00:10:96::/112")
    assert config.controller_address == HostPort("fd00::1", 10349)
    assert str(config.controller_address) == "[fd00::1]:10349"
    assert config.transport_interface == "eth0"
    assert config.flow_export == FlowExportConfig(
        enable=True, protocol=FlowExportProtocol.SFLOW, collector_address=HostPort("collector.example", 6343)
    )


def test_null_unsets_an_optional_key_and_an_empty_section_takes_defaults() -> None:
    config = load_text(AgentConfig, "kubeconfig: null\nflowExport:\n", environ=NODE)
    assert config.kubeconfig is None
    assert config.flow_export == FlowExportConfig()


def test_node_name_comes_from_the_file_before_the_environment() -> None:
    assert load_text(AgentConfig, "nodeName: from-file", environ=NODE).node_name == "from-file"


def test_node_name_is_required() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(AgentConfig, "", source="agent.conf", environ={})
    assert str(caught.value) == (
        "agent.conf: nodeName: required: set it in the file, with --nodeName "
        "or through the NODE_NAME environment variable"
    )


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_document(AgentConfig, None, environ={"NODE_NAME": "Node_1"})
    assert str(caught.value) == (
        "environment variable NODE_NAME: nodeName: 'Node_1' is not a Kubernetes object name "
        "(lowercase letters, digits, '-' and '.')"
    )


def test_empty_document_gives_the_defaults() -> None:
    assert load_document(ControllerConfig, None) == ControllerConfig()
    assert load_text(ControllerConfig, "") == ControllerConfig()


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "controller.conf"
    path.write_text("apiPort: 0\nhttpPort: 0\nauthTokenFile: /etc/token\n")
    config = load_file(ControllerConfig, path)
    assert (config.api_port, config.http_port) == (0, 0)
    assert config.auth_token_file == Path("/etc/token")


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.conf"
    with pytest.raises(ConfigError) as caught:
        load_file(ControllerConfig, path)
    assert str(caught.value) == f"{path}: cannot read the configuration file: No such file or directory"


def test_overrides_win_over_the_file() -> None:
    config = load_text(
        AgentConfig,
        "tunnelType: gre\ndefaultMTU: 1400",
        environ=NODE,
        overrides={"tunnelType": "geneve", "flowExport.sampling": "10"},
    )
    assert config.tunnel_type is TunnelType.GENEVE
    assert (config.default_mtu, config.flow_export.sampling) == (1400, 10)


def test_bad_override_names_the_flag() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(AgentConfig, "", environ=NODE, overrides={"defaultMTU": "big"})
    assert str(caught.value) == "flag --defaultMTU: defaultMTU: expected an integer, got 'big'"


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(AgentConfig, "", environ=NODE, overrides={"flowExport.enabel": "true"})
    assert str(caught.value) == (
        "flag --flowExport.enabel: flowExport.enabel: unknown key 'flowExport.enabel' "
        "(did you mean 'flowExport.enable'?)"
    )
