"""ADD, CHECK and DEL in the plugin: check the call, forward it to the agent, print the answer.

All real work happens in the agent; the plugin validates what it can on its own (environment,
configuration, version) so that bad input fails fast with the right code, then prints the
agent's result or the CNI error JSON on stdout and returns the exit status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cni.errors import CniError, ErrorCode
from cni.invocation import from_environ
from cni.netconf import decode_config, version_of
from cni.versions import LATEST
from cni.wire import CmdArgs


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the plugin prints on stdout, on stderr, and its exit status."""

    stdout: str
    stderr: str
    status: int


def execute(environ: Mapping[str, str], read_stdin: Callable[[], bytes]) -> Outcome:
    """Run one ADD, CHECK or DEL described by `environ` and the configuration from `read_stdin`.

    Never raises: every failure is an `Outcome` carrying the CNI error JSON.
    """
    version = LATEST
    try:
        try:
            data = read_stdin()
        except OSError as exc:
            raise CniError(
                ErrorCode.IO_FAILURE, "cannot read the network configuration from stdin", str(exc)
            ) from None
        version = version_of(data) or LATEST
        invocation = from_environ(environ)
        config = decode_config(data, invocation.command)
        version = config.cni_version
        result = _forward(invocation.command, config.cni_socket, environ, data)
    except CniError as error:
        return _failure(error, version)
    except Exception as exc:  # the runtime must get a CNI error, never a traceback
        return _failure(CniError(ErrorCode.UNKNOWN, "internal error in pyantrea-cni", repr(exc)), version)
    return Outcome(stdout=result, stderr="", status=0)


def _forward(command: str, socket: str, environ: Mapping[str, str], data: bytes) -> str:
    # gRPC costs most of the plugin's start-up: loaded only once the call is known to be good
    from cni.client import call_agent

    args = CmdArgs(
        container_id=environ.get("CNI_CONTAINERID", ""),
        netns=environ.get("CNI_NETNS", ""),
        ifname=environ.get("CNI_IFNAME", ""),
        args=environ.get("CNI_ARGS", ""),
        path=environ.get("CNI_PATH", ""),
        network_configuration=data,
    )
    result = call_agent(socket, command, args)
    if command != "ADD":
        return ""
    if not result:
        raise CniError(ErrorCode.UNKNOWN_RPC_ERROR, "the pyantrea agent answered ADD without a result")
    return result.decode() + "\n"


def _failure(error: CniError, version: str) -> Outcome:
    return Outcome(stdout=error.to_json(version) + "\n", stderr=f"pyantrea-cni: {error}\n", status=1)
