"""Command-line flags: --config plus one flag per key, winning over the file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pyantrea_config.agent import AgentConfig, FlowExportProtocol, TunnelType
from pyantrea_config.controller import ControllerConfig
from pyantrea_config.errors import ConfigError
from pyantrea_config.flags import add_config_flags, config_from_args
from pyantrea_config.kinds import HostPort


def parser_for(schema: type) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="test", allow_abbrev=False)
    add_config_flags(parser, schema)
    return parser


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.conf"
    path.write_text("tunnelType: gre\ndefaultMTU: 1400\nflowExport:\n  protocol: netflow\n")
    args = parser_for(AgentConfig).parse_args(
        [
            f"--config={path}",
            "--tunnelType=geneve",
            "--flowExport.enable=true",
            "--flowExport.collectorAddress=127.0.0.1:4739",
        ]
    )
    config = config_from_args(AgentConfig, args, environ={"NODE_NAME": "node-1"})
    assert config.tunnel_type is TunnelType.GENEVE
    assert config.default_mtu == 1400
    assert config.flow_export.enable is True
    assert config.flow_export.protocol is FlowExportProtocol.NETFLOW
    assert config.flow_export.collector_address == HostPort("127.0.0.1", 4739)


def test_without_a_file_defaults_and_flags_apply() -> None:
    args = parser_for(ControllerConfig).parse_args(["--apiPort", "0", "--httpPort", "0"])
    assert config_from_args(ControllerConfig, args) == ControllerConfig(api_port=0, http_port=0)


def test_empty_flag_unsets_an_optional_key(tmp_path: Path) -> None:
    path = tmp_path / "controller.conf"
    path.write_text("kubeconfig: /etc/kubeconfig\n")
    args = parser_for(ControllerConfig).parse_args(["--config", str(path), "--kubeconfig="])
    assert config_from_args(ControllerConfig, args).kubeconfig is None


def test_bad_flag_value_names_the_flag() -> None:
    args = parser_for(AgentConfig).parse_args(["--enablePrometheusMetrics=maybe"])
    with pytest.raises(ConfigError) as caught:
        config_from_args(AgentConfig, args, environ={"NODE_NAME": "node-1"})
    assert str(caught.value) == (
        "flag --enablePrometheusMetrics: enablePrometheusMetrics: expected true or false, got 'maybe'"
    )


def test_help_lists_every_key_with_its_values() -> None:
    text = parser_for(AgentConfig).format_help()
    assert "--tunnelType {vxlan,geneve,gre,stt}" in text
    assert "--flowExport.collectorAddress HOST:PORT" in text
    assert "--defaultMTU INTEGER" in text
