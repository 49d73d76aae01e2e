"""Fuzzing what the plugin reads (environment and stdin) and what the service receives: the
answer is always a well-formed CNI error (or result), never a traceback or a crashed agent."""

import json

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cni.errors import ErrorCode
from cni.plugin import execute
from cni.versions import SUPPORTED_VERSIONS, version_answer
from proto.cni.v1beta1 import cni_pb2, cni_pb2_grpc
from pyantrea_testing.cniruntime import exec_plugin
from tests.cni.strategies import configs, env_text, environments, service_fields

NOBODY = "/var/run/pyantrea-test-nobody-listens/cni.sock"
CODES = {int(code) for code in ErrorCode}


def assert_cni_error(stdout: str) -> dict:
    error = json.loads(stdout)
    assert set(error) <= {"cniVersion", "code", "msg", "details"}
    assert error["code"] in CODES
    assert isinstance(error["msg"], str) and error["msg"]
    assert isinstance(error["cniVersion"], str)
    assert isinstance(error.get("details", ""), str)
    return error


@settings(max_examples=1500, deadline=None)
@given(environ=environments(), data=configs(NOBODY))
def test_the_plugin_answers_anything_with_a_cni_error(environ, data):
    outcome = execute(environ, lambda: data)
    assert outcome.status == 1, "nothing answers on the socket, so nothing can succeed"
    error = assert_cni_error(outcome.stdout)
    assert outcome.stderr.startswith("pyantrea-cni: ")
    if error["code"] == 11:
        assert NOBODY in error["msg"]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64) | configs(NOBODY))
def test_version_answers_anything(data):
    answer = json.loads(version_answer(data))
    assert answer["supportedVersions"] == list(SUPPORTED_VERSIONS)
    assert isinstance(answer["cniVersion"], str) and answer["cniVersion"]


@settings(max_examples=25, deadline=None)
@given(
    environ=environments(),
    data=configs(NOBODY),
    extra=st.dictionaries(st.sampled_from(["CNI_NETNS_OVERRIDE", "CNI_FOO"]), env_text, max_size=1),
)
def test_the_executable_never_prints_a_traceback(environ, data, extra):
    run = exec_plugin({**environ, **extra}, data)
    assert "Traceback" not in run.stderr
    if run.status == 0:
        assert environ.get("CNI_COMMAND") == "VERSION"
        assert json.loads(run.stdout)["supportedVersions"] == list(SUPPORTED_VERSIONS)
    else:
        assert run.status == 1
        assert_cni_error(run.stdout)


@pytest.mark.ovs
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["CmdAdd", "CmdCheck", "CmdDel"]), fields=service_fields(), data=configs(NOBODY)
)
def test_the_service_answers_anything_and_keeps_serving(node, method, fields, data):
    """Straight to the agent, bypassing the plugin's checks (NULs and any Unicode included)."""
    args = cni_pb2.CniCmdArgs(network_configuration=data, **fields)
    with grpc.insecure_channel(f"unix:{node.socket}") as channel:
        response = getattr(cni_pb2_grpc.CniStub(channel), method)(
            cni_pb2.CniCmdRequest(cni_args=args), timeout=30
        )
    if response.HasField("error"):
        assert response.error.code in CODES and response.error.message
        assert response.error.code != ErrorCode.UNKNOWN, response.error
    else:
        assert method == "CmdDel", "only a DEL of nothing can succeed here"
