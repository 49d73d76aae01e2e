"""install-cni: put the pyantrea CNI plugin and its network configuration on a node.

    install-cni --host-root /host [--bundle /usr/local/lib/pyantrea-cni]
        [--conflist /etc/pyantrea/10-pyantrea.conflist] [--modprobe openvswitch]
    install-cni --host-root ROOT --plugin FILE [--mtu 1450] [--socket /var/run/pyantrea/cni.sock]

The one installer of the CNI plugin, for a cluster and for the lab.

In a cluster the agent DaemonSet's init container runs the first form with the node's
/opt/cni/bin and /etc/cni/net.d mounted under --host-root. The container runtime execs the
plugin on the node itself, outside any container, so the plugin cannot be the image's Python
console script (its interpreter and virtual environment exist only in the image): it is a
self-contained PyInstaller bundle built in the image, carrying its own interpreter and
libraries. Each version of the bundle is copied to its own directory,
`opt/cni/bin/pyantrea.d/<digest>/`, under a temporary name and renamed into place;
`opt/cni/bin/pyantrea` is a relative symlink to that bundle's executable, swapped atomically,
so a runtime calling the plugin during an upgrade runs the old version or the new one, each
complete. The version being replaced stays for calls still running; older ones are removed.
The conflist (the ConfigMap's) is checked, then written the same way. --modprobe loads kernel
modules (openvswitch, for the system datapath).

Where the plugin can be a plain executable (the lab: its nodes share this machine's virtual
environment), the second form (`install`) copies `--plugin` to `opt/cni/bin/pyantrea` and
writes the conflist made from `--mtu` and `--socket`.

Every file is written to a temporary name in its final directory and renamed over the old one,
so a runtime reading the directory sees the old file or the new one, never half of one; a file
that already has the right content is left untouched, so running the step again changes nothing
(runtimes watch net.d for changes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cni.netconf import DEFAULT_SOCKET, IPAM_TYPE, MTU_RANGE
from cni.versions import LATEST

PLUGIN = Path("opt/cni/bin/pyantrea")
BUNDLES = Path("opt/cni/bin/pyantrea.d")
CONFLIST = Path("etc/cni/net.d/10-pyantrea.conflist")
PLUGIN_TYPE = "pyantrea"
NETWORK_NAME = "pyantrea"
DEFAULT_MTU = 1450
DEFAULT_HOST_ROOT = Path("/host")
DEFAULT_BUNDLE = Path("/usr/local/lib/pyantrea-cni")
"""Where the image keeps the bundle (build/images/Dockerfile)."""
DEFAULT_CONFLIST = Path("/etc/pyantrea/10-pyantrea.conflist")
"""Where the DaemonSet mounts the pyantrea-config ConfigMap's conflist."""
_DIGEST_CHARS = 16


class InstallError(RuntimeError):
    """The installation cannot proceed; the message names the file or step and the reason."""


@dataclass(frozen=True, slots=True)
class BundleInstalled:
    """Where the bundle is on the node, and what installing it changed."""

    path: Path
    copied: bool
    link_changed: bool
    removed: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Installed:
    """What `install` wrote: the paths on the host and whether each changed."""

    plugin: Path
    conflist: Path
    plugin_changed: bool
    conflist_changed: bool


def conflist(*, socket: str, mtu: int | None = None) -> str:
    """The network configuration list: pyantrea with host-local IPAM (the agent fills in the
    subnet); without `mtu` the plugin uses the agent's."""
    plugin: dict[str, object] = {"type": PLUGIN_TYPE}
    if mtu is not None:
        plugin["mtu"] = mtu
    plugin |= {"cniSocket": socket, "ipam": {"type": IPAM_TYPE}}
    document = {"cniVersion": LATEST, "name": NETWORK_NAME, "plugins": [plugin]}
    return json.dumps(document, indent=2) + "\n"


def install(host_root: Path, *, plugin: Path, mtu: int, socket: str) -> Installed:
    """Copy the executable `plugin` and write the conflist of `mtu` and `socket` under `host_root`."""
    low, high = MTU_RANGE
    if not low <= mtu <= high:
        raise ValueError(f"mtu {mtu} is outside {low}-{high}")
    if not socket.startswith("/"):
        raise ValueError(f"socket {socket!r} is not an absolute path")
    plugin_changed = _write_atomically(host_root / PLUGIN, plugin.read_bytes(), mode=0o755)
    conflist_changed = install_conflist(host_root, conflist(mtu=mtu, socket=socket).encode())
    return Installed(host_root / PLUGIN, host_root / CONFLIST, plugin_changed, conflist_changed)


def bundle_digest(bundle: Path) -> str:
    """A digest of every path, file mode, content and symlink target in the bundle directory."""
    digest = hashlib.sha256()
    for path in sorted(bundle.rglob("*")):
        relative = path.relative_to(bundle).as_posix()
        if path.is_symlink():
            digest.update(f"L {relative} {os.readlink(path)}\0".encode())
        elif path.is_file():
            digest.update(f"F {relative} {path.stat().st_mode & 0o777:o}\0".encode())
            with path.open("rb") as file:
                for chunk in iter(lambda: file.read(1 << 20), b""):
                    digest.update(chunk)
        else:
            digest.update(f"D {relative}\0".encode())
    return digest.hexdigest()[:_DIGEST_CHARS]


def check_conflist(text: str, source: Path) -> None:
    """Refuse to install anything but a network configuration list with a pyantrea plugin."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InstallError(f"{source}: not JSON: {exc}") from None
    plugins = document.get("plugins") if isinstance(document, dict) else None
    if not isinstance(plugins, list) or not all(isinstance(plugin, dict) for plugin in plugins):
        raise InstallError(f"{source}: not a network configuration list (no plugins list)")
    if not any(plugin.get("type") == PLUGIN_TYPE for plugin in plugins):
        raise InstallError(f"{source}: no plugin of type {PLUGIN_TYPE!r}")
    for key in ("cniVersion", "name"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise InstallError(f"{source}: {key} is missing")


def install_bundle(host_root: Path, bundle: Path, executable: str) -> BundleInstalled:
    """Copy the bundle (if this version is not there yet), point the plugin at it, prune old versions."""
    if not (bundle / executable).is_file():
        raise InstallError(f"{bundle / executable}: the bundle's executable is missing")
    bundles = host_root / BUNDLES
    bundles.mkdir(parents=True, exist_ok=True)
    for leftover in bundles.glob(".*"):  # an earlier run stopped mid-copy
        _remove(leftover)
    target = bundles / bundle_digest(bundle)
    copied = not target.is_dir()
    if copied:
        staging = Path(tempfile.mkdtemp(dir=bundles, prefix=f".{target.name}."))
        try:
            shutil.copytree(bundle, staging, symlinks=True, dirs_exist_ok=True)
            _sync_tree(staging)
            staging.rename(target)
        except BaseException:
            _remove(staging)
            raise
        _sync(bundles)

    link = host_root / PLUGIN
    link_text = os.path.relpath(target / executable, link.parent)
    previous = _current_bundle(link, bundles)
    changed = not (link.is_symlink() and os.readlink(link) == link_text)
    if changed:
        if link.is_dir() and not link.is_symlink():
            raise InstallError(f"{link} is a directory; remove it by hand")
        staging_link = link.with_name(f".{link.name}.{os.getpid()}")
        staging_link.unlink(missing_ok=True)
        staging_link.symlink_to(link_text)
        os.replace(staging_link, link)
        _sync(link.parent)

    keep = {target.name} | ({previous.name} if previous is not None else set())
    removed = tuple(entry for entry in sorted(bundles.iterdir()) if entry.name not in keep)
    for entry in removed:
        _remove(entry)
    return BundleInstalled(target, copied, changed, removed)


def read_conflist(source: Path) -> bytes:
    """The conflist to install, checked."""
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise InstallError(f"{source}: cannot read the conflist: {exc.strerror}") from None
    check_conflist(content.decode("utf-8", "replace"), source)
    return content


def install_conflist(host_root: Path, content: bytes) -> bool:
    """Write the conflist into net.d unless it is already there, byte for byte."""
    return _write_atomically(host_root / CONFLIST, content, mode=0o644)


def _write_atomically(target: Path, content: bytes, *, mode: int) -> bool:
    """Make `target` hold `content` with `mode`; False if it already did."""
    try:
        if target.read_bytes() == content and target.stat().st_mode & 0o7777 == mode:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            os.fchmod(file.fileno(), mode)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    _sync(target.parent)  # make the rename itself durable
    return True


def load_modules(modules: Sequence[str]) -> None:
    for module in modules:
        done = subprocess.run(["modprobe", module], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InstallError(
                f"cannot load the kernel module {module}: {done.stderr.strip()} "
                f"(load it on the node with 'modprobe {module}')"
            )


def _current_bundle(link: Path, bundles: Path) -> Path | None:
    """The bundle directory the plugin link points into now, if it is one of ours."""
    if not link.is_symlink():
        return None
    resolved = (link.parent / os.readlink(link)).resolve()
    parent = resolved.parent
    return parent if parent.parent == bundles.resolve() else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _sync_tree(root: Path) -> None:
    """Flush every copied file, so the rename cannot publish a bundle whose data is not on disk."""
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _sync(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="install-cni", description=__doc__.splitlines()[0])
    parser.add_argument("--host-root", type=Path, default=DEFAULT_HOST_ROOT, help="where the node's / is")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="the plugin's bundle")
    parser.add_argument("--executable", default="pyantrea", help="the bundle's executable, by name")
    parser.add_argument("--conflist", type=Path, default=DEFAULT_CONFLIST, help="the conflist to install")
    parser.add_argument("--modprobe", action="append", default=[], metavar="MODULE", help="load this module")
    plain = parser.add_argument_group("a plain executable and a conflist made here (the lab)")
    plain.add_argument("--plugin", type=Path, help="install this executable instead of a bundle")
    plain.add_argument("--mtu", type=int, default=DEFAULT_MTU, help="MTU of pod interfaces")
    plain.add_argument("--socket", default=DEFAULT_SOCKET, help="the agent's CNI socket")
    args = parser.parse_args(argv)
    if args.plugin is not None:
        return _install_plain(args)
    try:
        content = read_conflist(args.conflist)  # a bad one stops the run before anything is written
        load_modules(args.modprobe)
        bundle = install_bundle(args.host_root, args.bundle, args.executable)
        conflist_changed = install_conflist(args.host_root, content)
    except (InstallError, OSError) as exc:
        print(f"install-cni: {exc}", file=sys.stderr)
        return 1
    print(f"install-cni: plugin bundle {bundle.path} {'installed' if bundle.copied else 'present'}")
    print(f"install-cni: {args.host_root / PLUGIN} {'updated' if bundle.link_changed else 'up to date'}")
    print(f"install-cni: {args.host_root / CONFLIST} {'written' if conflist_changed else 'up to date'}")
    for path in bundle.removed:
        print(f"install-cni: removed the old bundle {path}")
    return 0


def _install_plain(args: argparse.Namespace) -> int:
    try:
        load_modules(args.modprobe)
        done = install(args.host_root, plugin=args.plugin, mtu=args.mtu, socket=args.socket)
    except (InstallError, OSError, ValueError) as exc:
        print(f"install-cni: {exc}", file=sys.stderr)
        return 1
    for path, changed in ((done.plugin, done.plugin_changed), (done.conflist, done.conflist_changed)):
        print(f"{path}: {'installed' if changed else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
