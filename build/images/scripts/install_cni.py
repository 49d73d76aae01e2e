#!/usr/bin/env python3
"""install-cni: put the pyantrea CNI plugin and its network configuration on the node.

    install-cni --host-root /host --bundle /usr/local/lib/pyantrea-cni \\
        --conflist /etc/pyantrea/10-pyantrea.conflist [--modprobe openvswitch]

The agent DaemonSet's init container runs it with the node's /opt/cni/bin and /etc/cni/net.d
mounted under --host-root. The container runtime execs the plugin on the node itself, outside
any container, so the plugin cannot be the image's Python console script (its interpreter and
virtual environment exist only in the image): it is a self-contained PyInstaller bundle built
in the image, carrying its own interpreter and libraries. Each version of the bundle is copied
to its own directory, `opt/cni/bin/pyantrea.d/<digest>/`, under a temporary name and renamed
into place; `opt/cni/bin/pyantrea` is a relative symlink to that bundle's executable, swapped
atomically, so a runtime calling the plugin during an upgrade runs the old version or the new
one, each complete. The version being replaced stays for calls still running; older ones are
removed. The conflist is checked, then written the same way and only when its content changed
(runtimes watch net.d). --modprobe loads kernel modules (openvswitch, for the system datapath).

Only the standard library is used: this runs on the image's system Python.
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

PLUGIN = Path("opt/cni/bin/pyantrea")
BUNDLES = Path("opt/cni/bin/pyantrea.d")
CONFLIST = Path("etc/cni/net.d/10-pyantrea.conflist")
PLUGIN_TYPE = "pyantrea"
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
    target = host_root / CONFLIST
    try:
        if target.read_bytes() == content and target.stat().st_mode & 0o777 == 0o644:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            os.fchmod(file.fileno(), 0o644)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    _sync(target.parent)
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
    args = parser.parse_args(argv)
    try:
        conflist = read_conflist(args.conflist)  # a bad one stops the run before anything is written
        load_modules(args.modprobe)
        bundle = install_bundle(args.host_root, args.bundle, args.executable)
        conflist_changed = install_conflist(args.host_root, conflist)
    except (InstallError, OSError) as exc:
        print(f"install-cni: {exc}", file=sys.stderr)
        return 1
    print(f"install-cni: plugin bundle {bundle.path} {'installed' if bundle.copied else 'present'}")
    print(f"install-cni: {args.host_root / PLUGIN} {'updated' if bundle.link_changed else 'up to date'}")
    print(f"install-cni: {args.host_root / CONFLIST} {'written' if conflist_changed else 'up to date'}")
    for path in bundle.removed:
        print(f"install-cni: removed the old bundle {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
