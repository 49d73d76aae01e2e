"""The rendered default files load back to the schema defaults, so manifests and code cannot drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from pyantrea_config.agent import AgentConfig
from pyantrea_config.controller import ControllerConfig
from pyantrea_config.loader import load_text
from pyantrea_config.render import PROGRAMS, render_markdown, render_yaml
from pyantrea_config.schema import leaves

REPO = Path(__file__).resolve().parents[2]


def test_agent_defaults_round_trip() -> None:
    text = render_yaml(AgentConfig, title="pyantrea-agent.conf")
    assert load_text(AgentConfig, text, environ={"NODE_NAME": "node-1"}) == AgentConfig(node_name="node-1")


def test_controller_defaults_round_trip() -> None:
    text = render_yaml(ControllerConfig, title="pyantrea-controller.conf")
    assert load_text(ControllerConfig, text, environ={}) == ControllerConfig()


def test_rendered_file_documents_every_key() -> None:
    text = render_yaml(AgentConfig, title="pyantrea-agent.conf")
    lines = text.splitlines()
    for key in ("ovsBridge", "tunnelType", "defaultMTU", "serviceCIDR", "flowExport"):
        (index,) = [n for n, line in enumerate(lines) if line.startswith(f"{key}:")]
        assert lines[index - 1].startswith("# ")
    mtu = lines.index("defaultMTU: 1450")
    assert lines[mtu - 2 : mtu] == [
        "# MTU of pod interfaces and the gateway; leave room for the tunnel header (50 bytes for vxlan).",
        "# Range: 576 to 9216.",
    ]
    assert "  sampling: 400" in lines
    assert "#transportInterface:" in lines
    assert "#nodeName:" in lines


def test_rendered_values_are_the_defaults_as_yaml() -> None:
    document = yaml.safe_load(render_yaml(AgentConfig, title="x"))
    assert document["serviceCIDR"] == "10.96.0.0/12"
    assert document["defaultMTU"] == 1450
    assert document["flowExport"] == {"enable": False, "protocol": "ipfix", "sampling": 400}
    assert "transportInterface" not in document


def test_markdown_has_a_row_per_key() -> None:
    text = render_markdown(AgentConfig, title="pyantrea-agent.conf")
    for key in leaves(AgentConfig):
        assert f"| `{key}` |" in text
    assert "| `nodeName` | object name | `$NODE_NAME` |" in text
    assert "| `flowExport.enable` | boolean | `false` |" in text


def test_command_line_renders_each_program() -> None:
    for program, (title, schema) in PROGRAMS.items():
        result = subprocess.run(
            [sys.executable, "-m", "pyantrea_config.render", program],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout == render_yaml(schema, title=title)
    markdown = subprocess.run(
        [sys.executable, "-m", "pyantrea_config.render", "controller", "--format", "markdown"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert markdown.stdout == render_markdown(ControllerConfig, title="pyantrea-controller.conf")
