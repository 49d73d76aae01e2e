"""Pod addresses from the node's pod subnet, through the standard `host-local` IPAM plugin.

The agent execs `host-local` as a CNI runtime would, with a configuration it writes itself:
the node's pod subnet and gateway, and a data directory under the agent's state directory
(which survives agent restarts), so allocations are exactly host-local's files. An allocation
is keyed by (container id, interface name); releasing twice is success. The plugin runs from a
worker thread: on uvloop, feeding its stdin through asyncio's subprocess pipes failed with a
closed transport.

`allocations()` reads what host-local has reserved from its files (`<dataDir>/<network>/<ip>`,
holding the container id and, since host-local 1.0, a CRLF and the interface name), and
`release_holder` frees a holder's addresses with host-local's own DEL, so its locking and file
format stay its own business.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, ip_address
from pathlib import Path

from cni.errors import CniError, ErrorCode
from cni.result import decode_result

PLUGIN = "host-local"
DEFAULT_PLUGIN_DIRS = (Path("/opt/cni/bin"), Path("/usr/lib/cni"))
"""Where host-local is looked for after the call's CNI_PATH (the second is Debian's package)."""
TIMEOUT_SECONDS = 30.0
IPAM_CNI_VERSION = "1.0.0"
LEGACY_IFNAME = "eth0"
"""The interface name a release of a file without one passes: host-local then matches the id alone."""


@dataclass(frozen=True, slots=True)
class IpamCall:
    """The attachment an address belongs to, and the call's CNI_PATH to find the plugin in."""

    network: str
    container_id: str
    ifname: str
    netns: str
    cni_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds addresses in host-local's files; `ifname` is "" in files older than host-local 1.0."""

    network: str
    container_id: str
    ifname: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """One address host-local has reserved, and its holder."""

    ip: IPv4Address | IPv6Address
    holder: Holder


class HostLocalIpam:
    """Allocates, checks and releases addresses of `subnet` (the gateway is never handed out)."""

    def __init__(
        self,
        *,
        subnet: IPv4Network,
        gateway: IPv4Address,
        data_dir: Path,
        plugin_dirs: Sequence[Path] = DEFAULT_PLUGIN_DIRS,
    ) -> None:
        if gateway not in subnet:
            raise ValueError(f"gateway {gateway} is outside the pod subnet {subnet}")
        self.subnet = subnet
        self.gateway = gateway
        self.data_dir = data_dir
        self._plugin_dirs = tuple(plugin_dirs)

    async def allocate(self, call: IpamCall) -> IPv4Interface:
        """A free address of the subnet, recorded for the attachment."""
        output = await self._run("ADD", call)
        result = decode_result(_json(output), f"{PLUGIN} result", ErrorCode.IPAM_FAILURE)
        for ip in result.ips:
            if isinstance(ip.address, IPv4Interface) and ip.address in self.subnet:
                return ip.address
        raise CniError(ErrorCode.IPAM_FAILURE, f"{PLUGIN} returned no address of {self.subnet}", output)

    async def check(self, call: IpamCall) -> None:
        """Raise `CniError` unless the attachment still holds its address."""
        await self._run("CHECK", call)

    async def release(self, call: IpamCall) -> None:
        """Free the attachment's address; an attachment without one is success."""
        await self._run("DEL", call)

    async def allocations(self) -> list[Allocation]:
        """Every address reserved in the data directory, in every network's directory."""
        return await asyncio.to_thread(_read_allocations, self.data_dir)

    async def release_holder(self, holder: Holder) -> None:
        """Free every address `holder` has in its network (host-local's DEL frees them all)."""
        call = IpamCall(
            network=holder.network,
            container_id=holder.container_id,
            ifname=holder.ifname or LEGACY_IFNAME,
            netns="",
            cni_path=(),
        )
        await self.release(call)

    def _config(self, network: str) -> bytes:
        ipam = {
            "type": PLUGIN,
            "ranges": [[{"subnet": str(self.subnet), "gateway": str(self.gateway)}]],
            "dataDir": str(self.data_dir),
        }
        return json.dumps({"cniVersion": IPAM_CNI_VERSION, "name": network, "ipam": ipam}).encode()

    def _plugin(self, cni_path: Sequence[str]) -> Path:
        dirs = [Path(entry) for entry in cni_path] + list(self._plugin_dirs)
        for directory in dirs:
            candidate = directory / PLUGIN
            if os.access(candidate, os.X_OK) and candidate.is_file():
                return candidate
        raise CniError(
            ErrorCode.IPAM_FAILURE,
            f"the {PLUGIN} IPAM plugin is not installed",
            f"looked in {', '.join(str(directory) for directory in dirs)}",
        )

    async def _run(self, command: str, call: IpamCall) -> str:
        plugin = self._plugin(call.cni_path)
        environ = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": call.container_id,
            "CNI_NETNS": call.netns,
            "CNI_IFNAME": call.ifname,
            "CNI_PATH": str(plugin.parent),
        }
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                [plugin],
                input=self._config(call.network),
                env=environ,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CniError(
                ErrorCode.IPAM_FAILURE, f"{PLUGIN} {command} did not finish within {TIMEOUT_SECONDS:.0f}s"
            ) from None
        except OSError as exc:
            raise CniError(ErrorCode.IPAM_FAILURE, f"cannot run {plugin}", str(exc)) from None
        output = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            raise _failure(command, output, done.stderr.decode(errors="replace"))
        return output


def _read_allocations(data_dir: Path) -> list[Allocation]:
    found = []
    networks = sorted(path for path in data_dir.iterdir() if path.is_dir()) if data_dir.is_dir() else []
    for network in networks:
        for path in sorted(network.iterdir()):
            try:
                ip = ip_address(path.name)  # the other files are `lock` and `last_reserved_ip.<n>`
            except ValueError:
                continue
            try:
                lines = [line.strip() for line in path.read_text().splitlines()]
            except FileNotFoundError:  # released meanwhile
                continue
            container_id, ifname = [*lines, "", ""][:2]
            found.append(Allocation(ip, Holder(network.name, container_id, ifname)))
    return found


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise CniError(ErrorCode.IPAM_FAILURE, f"{PLUGIN} printed no JSON result", text) from None


def _failure(command: str, stdout: str, stderr: str) -> CniError:
    """The plugin's CNI error, as an IPAM failure that says what host-local reported."""
    try:
        error = json.loads(stdout)
        message = error["msg"]
        details = error.get("details") or ""
    except (ValueError, TypeError, KeyError, AttributeError):
        message, details = "failed", (stdout + stderr).strip()
    return CniError(ErrorCode.IPAM_FAILURE, f"{PLUGIN} {command}: {message}", details)
