"""What a container runtime does with a CNI plugin: exec it with the CNI environment and the
network configuration on stdin, then read the result or the error from stdout and the exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLUGIN = Path(sys.executable).parent / "pyantrea-cni"
CNI_PATH = "/usr/lib/cni"


@dataclass(frozen=True)
class PluginRun:
    status: int
    stdout: str
    stderr: str

    @property
    def output(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_code(self) -> int | None:
        return None if self.status == 0 else self.output["code"]


def network_config(socket: Path | str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    """The plugin's configuration as a runtime derives it from the installed conflist."""
    return {
        "cniVersion": version,
        "name": "pyantrea",
        "type": "pyantrea",
        "cniSocket": str(socket),
        "ipam": {"type": "host-local"},
        **extra,
    }


def pod_args(namespace: str, name: str, uid: str = "") -> str:
    """CNI_ARGS as the kubelet passes them (containerd and CRI-O add the pod's uid)."""
    args = f"IgnoreUnknown=1;K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={name};K8S_POD_INFRA_CONTAINER_ID=x"
    return f"{args};K8S_POD_UID={uid}" if uid else args


def exec_plugin(environ: dict[str, str], stdin: bytes, *, timeout: float = 120) -> PluginRun:
    """Run the plugin with exactly `environ` (plus PATH) and `stdin`."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environ}
    done = subprocess.run(
        [str(PLUGIN)], input=stdin, env=env, capture_output=True, timeout=timeout, check=False
    )
    return PluginRun(done.returncode, done.stdout.decode(), done.stderr.decode())


def cni(
    command: str,
    config: dict[str, Any] | bytes,
    *,
    container_id: str = "",
    netns: str = "",
    ifname: str = "eth0",
    args: str = "",
    path: str = CNI_PATH,
) -> PluginRun:
    """One CNI call; empty parameters are left out of the environment."""
    environ = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": ifname,
        "CNI_ARGS": args,
        "CNI_PATH": path,
    }
    stdin = config if isinstance(config, bytes) else json.dumps(config).encode()
    return exec_plugin({key: value for key, value in environ.items() if value}, stdin)


def host_local(command: str, container_id: str, data_dir: Path, subnet: str, ip: str) -> PluginRun:
    """host-local itself on `data_dir` (network "pyantrea"), limited to the one address `ip`."""
    ranges = [[{"subnet": subnet, "rangeStart": ip, "rangeEnd": ip}]]
    ipam = {"type": "host-local", "ranges": ranges, "dataDir": str(data_dir)}
    config = {"cniVersion": "1.0.0", "name": "pyantrea", "ipam": ipam}
    environ = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": "/var/run/netns/none",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": CNI_PATH,
    }
    done = subprocess.run(
        [f"{CNI_PATH}/host-local"],
        input=json.dumps(config).encode(),
        env=environ,
        capture_output=True,
        check=False,
    )
    return PluginRun(done.returncode, done.stdout.decode(), done.stderr.decode())


@dataclass
class Sandbox:
    """A pod sandbox as a kubelet makes one: a network namespace, a container id, the pod's name."""

    namespace: str
    name: str
    netns_name: str
    container_id: str
    socket: Path
    uid: str = ""

    @property
    def netns(self) -> str:
        return f"/var/run/netns/{self.netns_name}"

    def config(self, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
        return network_config(self.socket, version, **extra)

    def call(self, command: str, config: dict[str, Any] | bytes | None = None, **overrides: str) -> PluginRun:
        params = {
            "container_id": self.container_id,
            "netns": self.netns,
            "args": pod_args(self.namespace, self.name, self.uid),
            **overrides,
        }
        return cni(command, self.config() if config is None else config, **params)

    def add(self, version: str = "1.0.0", **extra: Any) -> PluginRun:
        return self.call("ADD", self.config(version, **extra))

    def check(self, prev_result: dict[str, Any], version: str = "1.0.0") -> PluginRun:
        return self.call("CHECK", self.config(version, prevResult=prev_result))

    def delete(self, version: str = "1.0.0") -> PluginRun:
        return self.call("DEL", self.config(version))


def conflist_call(
    command: str, conflist: dict[str, Any], sandbox: Sandbox, prev_result: dict[str, Any] | None = None
) -> PluginRun:
    """Run a network configuration list as a runtime does (SPEC section 3): ADD in order, each
    plugin given the previous one's result; CHECK and DEL with the ADD's final result, DEL in
    reverse order. pyantrea is this plugin; other types are the containernetworking plugins."""
    plugins = conflist["plugins"] if command != "DEL" else list(reversed(conflist["plugins"]))
    previous = prev_result
    run = PluginRun(0, "", "")
    for plugin in plugins:
        config = {"cniVersion": conflist["cniVersion"], "name": conflist["name"], **plugin}
        if previous is not None:
            config["prevResult"] = previous
        executable = PLUGIN if plugin["type"] == "pyantrea" else Path(CNI_PATH) / plugin["type"]
        environ = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": sandbox.container_id,
            "CNI_NETNS": sandbox.netns,
            "CNI_IFNAME": "eth0",
            "CNI_ARGS": pod_args(sandbox.namespace, sandbox.name),
            "CNI_PATH": CNI_PATH,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        done = subprocess.run(
            [str(executable)],
            input=json.dumps(config).encode(),
            env=environ,
            capture_output=True,
            check=False,
        )
        run = PluginRun(done.returncode, done.stdout.decode(), done.stderr.decode())
        if run.status != 0:
            return run
        if command == "ADD":
            previous = run.output
    return run
