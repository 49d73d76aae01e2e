"""The container runtime's side of CNI: exec the node's plugins with the CNI environment.

As containerd or CRI-O do: the network configuration is the first `.conflist` (or `.conf`) in
the node's configuration directory, in name order; ADD runs its plugins in order, each given
the previous one's result as `prevResult`; DEL runs them in reverse order. Every plugin is
exec'd from the binary directory with `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`,
`CNI_IFNAME`, `CNI_ARGS` (the kubelet's `K8S_POD_*` keys) and `CNI_PATH`, the configuration on
stdin. A failure is a `CniFailure` carrying the plugin's error code, message and details. The
plugins run in worker threads (feeding a child's stdin through uvloop's pipes is unreliable).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

IFNAME = "eth0"
TRY_AGAIN_LATER = 11
_TIMEOUT_SECONDS = 120.0


class CniFailure(Exception):
    """A plugin failed: `code` is its CNI error code (or None when it printed no error result)."""

    def __init__(self, plugin: str, code: int | None, msg: str, details: str = "") -> None:
        text = f"{plugin}: {msg}" + (f" (CNI error {code})" if code is not None else "")
        super().__init__(f"{text}: {details}" if details else text)
        self.code = code
        self.msg = msg
        self.details = details

    @property
    def try_again_later(self) -> bool:
        return self.code == TRY_AGAIN_LATER


class CniConfigMissing(Exception):
    """The node has no network configuration yet (the agent's install step has not run)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """What one pod's CNI calls are about."""

    container_id: str
    netns_path: Path
    pod_namespace: str
    pod_name: str
    pod_uid: str

    @property
    def cni_args(self) -> str:
        return (
            f"IgnoreUnknown=1;K8S_POD_NAMESPACE={self.pod_namespace};K8S_POD_NAME={self.pod_name};"
            f"K8S_POD_INFRA_CONTAINER_ID={self.container_id};K8S_POD_UID={self.pod_uid}"
        )


def find_network_config(conf_dir: Path) -> Path:
    """The configuration file a runtime would use, or CniConfigMissing."""
    candidates = sorted(
        path
        for path in conf_dir.glob("*")
        if path.suffix in (".conflist", ".conf", ".json") and path.is_file()
    )
    if not candidates:
        raise CniConfigMissing(f"no network configuration in {conf_dir}")
    return candidates[0]


def _plugin_configs(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-plugin configurations a list (or a single `.conf`) stands for."""
    if "plugins" not in document:
        return [document]
    common = {"cniVersion": document["cniVersion"], "name": document["name"]}
    return [{**common, **plugin} for plugin in document["plugins"]]


class CniRuntime:
    """Runs the node's network configuration; `bin_dirs` is the CNI_PATH, searched in order."""

    def __init__(self, conf_dir: Path, bin_dirs: Sequence[Path]) -> None:
        self.conf_dir = conf_dir
        self.bin_dirs = tuple(bin_dirs)

    def ready(self) -> str | None:
        """None when a network configuration is installed, else why not."""
        try:
            find_network_config(self.conf_dir)
        except CniConfigMissing as missing:
            return str(missing)
        return None

    async def add(self, attachment: Attachment) -> IPv4Interface:
        """Attach the pod; returns its address on eth0."""
        return await asyncio.to_thread(self._add, attachment)

    async def delete(self, attachment: Attachment) -> None:
        await asyncio.to_thread(self._delete, attachment)

    def _add(self, attachment: Attachment) -> IPv4Interface:
        previous: dict[str, Any] | None = None
        for config in _plugin_configs(self._load()):
            if previous is not None:
                config["prevResult"] = previous
            previous = self._exec("ADD", config, attachment)
        if previous is None:
            raise CniFailure("runtime", None, f"the network configuration in {self.conf_dir} has no plugins")
        return _pod_address(previous)

    def _delete(self, attachment: Attachment) -> None:
        for config in reversed(_plugin_configs(self._load())):
            self._exec("DEL", config, attachment)

    def _load(self) -> dict[str, Any]:
        path = find_network_config(self.conf_dir)
        try:
            document = json.loads(path.read_text())
        except ValueError as exc:
            raise CniFailure("runtime", None, f"{path} is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise CniFailure("runtime", None, f"{path} is not a network configuration")
        return document

    def _exec(self, command: str, config: dict[str, Any], attachment: Attachment) -> dict[str, Any]:
        plugin = str(config.get("type", ""))
        executable = next((d / plugin for d in self.bin_dirs if plugin and (d / plugin).is_file()), None)
        if executable is None:
            raise CniFailure(plugin or "runtime", None, f"plugin {plugin!r} not found in {self._cni_path}")
        environ = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": attachment.container_id,
            "CNI_NETNS": str(attachment.netns_path),
            "CNI_IFNAME": IFNAME,
            "CNI_ARGS": attachment.cni_args,
            "CNI_PATH": self._cni_path,
        }
        try:
            done = subprocess.run(
                [str(executable)],
                input=json.dumps(config).encode(),
                env=environ,
                capture_output=True,
                timeout=_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CniFailure(
                plugin, None, f"{command} did not answer within {_TIMEOUT_SECONDS:.0f}s"
            ) from exc
        output = _json_object(done.stdout)
        if done.returncode != 0:
            if output is not None and "code" in output:
                raise CniFailure(
                    plugin, int(output["code"]), str(output.get("msg", "")), str(output.get("details", ""))
                )
            stderr = done.stderr.decode(errors="replace").strip()
            raise CniFailure(plugin, None, f"{command} exited with {done.returncode}", stderr[-500:])
        if command == "DEL":
            return {}
        if output is None:
            raise CniFailure(plugin, None, f"{command} printed no result")
        return output

    @property
    def _cni_path(self) -> str:
        return os.pathsep.join(str(d) for d in self.bin_dirs)


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _pod_address(result: dict[str, Any]) -> IPv4Interface:
    """The IPv4 address the result gives the pod's eth0 (the interface inside the sandbox)."""
    interfaces = result.get("interfaces") or []
    for ip in result.get("ips") or []:
        index = ip.get("interface")
        inside = index is None or (
            isinstance(index, int) and 0 <= index < len(interfaces) and interfaces[index].get("sandbox")
        )
        address = IPv4Interface(ip["address"]) if "." in str(ip.get("address", "")) else None
        if inside and address is not None:
            return address
    raise CniFailure(
        "runtime", None, "the ADD result has no IPv4 address for the pod", json.dumps(result)[:500]
    )
