"""The DaemonSet's install-cni step: put the plugin and its network configuration on the host.

    python -m cni.install --host-root /host --mtu 1450 --socket /var/run/pyantrea/cni.sock

copies the plugin executable to `<host>/opt/cni/bin/pyantrea` and writes
`<host>/etc/cni/net.d/10-pyantrea.conflist`. Each file is written to a temporary name in its
final directory and renamed over the old one, so a runtime reading the directory sees the old
file or the new one, never half of one; a file that already has the right content is left
untouched, so running the step again changes nothing (runtimes watch net.d for changes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cni.netconf import DEFAULT_SOCKET, IPAM_TYPE, MTU_RANGE
from cni.versions import LATEST

PLUGIN_TYPE = "pyantrea"
NETWORK_NAME = "pyantrea"
PLUGIN_PATH = Path("opt/cni/bin") / PLUGIN_TYPE
CONFLIST_PATH = Path("etc/cni/net.d/10-pyantrea.conflist")
DEFAULT_MTU = 1450


@dataclass(frozen=True, slots=True)
class Installed:
    """What the step wrote: the paths on the host and whether each changed."""

    plugin: Path
    conflist: Path
    plugin_changed: bool
    conflist_changed: bool


def conflist(*, mtu: int, socket: str) -> str:
    """The network configuration list: pyantrea with host-local IPAM (the agent fills in the subnet)."""
    document = {
        "cniVersion": LATEST,
        "name": NETWORK_NAME,
        "plugins": [
            {"type": PLUGIN_TYPE, "mtu": mtu, "cniSocket": socket, "ipam": {"type": IPAM_TYPE}},
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def install(host_root: Path, *, plugin: Path, mtu: int, socket: str) -> Installed:
    """Copy `plugin` and write the conflist under `host_root`; idempotent and atomic per file."""
    low, high = MTU_RANGE
    if not low <= mtu <= high:
        raise ValueError(f"mtu {mtu} is outside {low}-{high}")
    if not socket.startswith("/"):
        raise ValueError(f"socket {socket!r} is not an absolute path")
    plugin_target = host_root / PLUGIN_PATH
    conflist_target = host_root / CONFLIST_PATH
    plugin_changed = _write_atomically(plugin_target, plugin.read_bytes(), mode=0o755)
    conflist_changed = _write_atomically(
        conflist_target, conflist(mtu=mtu, socket=socket).encode(), mode=0o644
    )
    return Installed(plugin_target, conflist_target, plugin_changed, conflist_changed)


def _write_atomically(target: Path, content: bytes, *, mode: int) -> bool:
    """Make `target` hold `content` with `mode`; False if it already did."""
    try:
        if target.read_bytes() == content and target.stat().st_mode & 0o7777 == mode:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)
    return True


def _default_plugin() -> Path:
    """The `pyantrea-cni` executable installed next to this Python."""
    return Path(sys.executable).parent / "pyantrea-cni"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cni.install", description=__doc__.splitlines()[0])
    parser.add_argument("--host-root", type=Path, default=Path("/host"), help="where the host's / is mounted")
    parser.add_argument("--plugin", type=Path, default=_default_plugin(), help="the executable to install")
    parser.add_argument("--mtu", type=int, default=DEFAULT_MTU, help="MTU of pod interfaces")
    parser.add_argument("--socket", default=DEFAULT_SOCKET, help="the agent's CNI socket")
    args = parser.parse_args(argv)
    try:
        done = install(args.host_root, plugin=args.plugin, mtu=args.mtu, socket=args.socket)
    except (OSError, ValueError) as exc:
        print(f"install-cni: {exc}", file=sys.stderr)
        return 1
    for path, changed in ((done.plugin, done.plugin_changed), (done.conflist, done.conflist_changed)):
        print(f"{path}: {'installed' if changed else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
