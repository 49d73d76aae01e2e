"""The plugin executable on its own: VERSION without the agent, errors for bad calls before the
agent is asked, and a clear "try again later" when the agent is not there."""

import json

import pytest

from pyantrea_testing.cniruntime import cni, exec_plugin, network_config, pod_args

SUPPORTED = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]


@pytest.mark.parametrize("version", SUPPORTED)
def test_version_echoes_the_runtime_version_and_lists_the_supported(version):
    run = exec_plugin({"CNI_COMMAND": "VERSION"}, json.dumps({"cniVersion": version}).encode())
    assert run.status == 0, run.stderr
    assert run.output == {"cniVersion": version, "supportedVersions": SUPPORTED}


@pytest.mark.parametrize("stdin", [b"", b"not json", b"[]", b'{"cniVersion": 7}'])
def test_version_without_a_usable_version_answers_with_the_latest(stdin):
    run = exec_plugin({"CNI_COMMAND": "VERSION"}, stdin)
    assert run.status == 0, run.stderr
    assert run.output == {"cniVersion": "1.0.0", "supportedVersions": SUPPORTED}


def test_version_does_not_load_grpc():
    run = exec_plugin(
        {"CNI_COMMAND": "VERSION", "PYTHONVERBOSE": "1"}, json.dumps({"cniVersion": "1.0.0"}).encode()
    )
    assert run.status == 0
    imported = [line for line in run.stderr.splitlines() if line.startswith("import ")]
    assert imported, "PYTHONVERBOSE printed no imports"
    assert not [line for line in imported if "grpc" in line or "google.protobuf" in line]


def test_add_loads_grpc_but_not_the_protobuf_runtime(tmp_path):
    environ = {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "c1",
        "CNI_NETNS": "/var/run/netns/none",
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": pod_args("default", "web"),
        "PYTHONVERBOSE": "1",
    }
    run = exec_plugin(environ, json.dumps(network_config(tmp_path / "absent.sock")).encode())
    assert run.error_code == 11
    imported = [line for line in run.stderr.splitlines() if line.startswith("import ")]
    assert [line for line in imported if "'grpc'" in line]
    assert not [line for line in imported if "google.protobuf" in line]


def test_an_unreachable_agent_is_try_again_later_naming_the_socket(tmp_path):
    socket = tmp_path / "absent.sock"
    run = cni(
        "ADD",
        network_config(socket, "0.4.0"),
        container_id="c1",
        netns="/var/run/netns/none",
        args=pod_args("default", "web"),
    )
    assert run.status == 1
    error = run.output
    assert error["code"] == 11
    assert error["cniVersion"] == "0.4.0"
    assert str(socket) in error["msg"] and "pyantrea-agent" in error["msg"]
    assert "Traceback" not in run.stderr


def test_a_socket_that_is_not_the_agent_is_a_clear_error(tmp_path):
    socket = tmp_path / "plain.sock"
    socket.write_text("not a socket")
    run = cni("DEL", network_config(socket), container_id="c1")
    assert run.error_code == 11
    assert str(socket) in run.output["msg"]
