"""The CNI plugin as the node gets it: built into a PyInstaller bundle by the image's own
build/images/cni/bundle.sh, put on a node root by install-cni, and exec'd through
/opt/cni/bin/pyantrea as a runtime does, with every Python installation of this machine hidden,
so it can only work if the bundle carries everything it needs. Then a pod's ADD, CHECK and DEL
through the installed plugin against a real node, and upgrades: atomic switch, one previous
version kept, leftovers and older versions removed, bad input refused."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cni import install as install_cni
from cni.versions import version_answer
from manifests.configmap import CONFLIST_KEY, config_map
from pyantrea_testing.cniruntime import pod_args
from tests.manifests.images import BUNDLE_SCRIPT

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DIST/pyantrea: the bundle built from this checkout with the Dockerfile's script."""
    root = tmp_path_factory.mktemp("bundle")
    done = subprocess.run(
        [
            str(BUNDLE_SCRIPT),
            str(root / "dist"),
            str(root / "work"),
            "--paths",
            str(REPO),
            "--log-level",
            "WARN",
        ],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "dist" / "pyantrea"


@pytest.fixture
def conflist(tmp_path: Path) -> Path:
    """The ConfigMap's conflist, as the DaemonSet mounts it for install-cni."""
    path = tmp_path / "config" / CONFLIST_KEY
    path.parent.mkdir()
    path.write_text(config_map()["data"][CONFLIST_KEY])
    return path


def run_install(host: Path, bundle: Path, conflist: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cni.install", "--host-root", str(host), "--bundle", str(bundle)]
    argv += ["--conflist", str(conflist)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def python_installations() -> list[Path]:
    """Every place a Python runtime or package of this machine lives."""
    places = {REPO, Path(sys.prefix), Path(sys.base_prefix)}
    places.update(Path(p) for p in glob.glob("/usr/lib/python3*") + glob.glob("/usr/local/lib/python3*"))
    existing = {place for place in places if place.is_dir()}
    # Covering a directory covers what is inside it (and leaves no mount point there).
    return sorted(place for place in existing if not any(other in place.parents for other in existing))


def exec_hidden(plugin: Path, environ: dict[str, str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run the plugin as a runtime would (`argv[0]` its path, cwd /), in a private mount namespace
    where an empty tmpfs covers every Python installation of this machine."""
    hidden = python_installations()
    assert not any(place in plugin.parents for place in hidden), f"{plugin} would be hidden"
    mounts = " && ".join(f"mount -t tmpfs -o size=1m pyantrea-hidden '{place}'" for place in hidden)
    script = f'{mounts} && test ! -e "{sys.executable}" && exec "$0"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(plugin)],
        input=stdin,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **environ},
        cwd="/",
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_installed_plugin_answers_version_without_any_python_of_this_machine(tmp_path, bundle, conflist):
    host = tmp_path / "host"
    done = run_install(host, bundle, conflist)
    assert done.returncode == 0, done.stderr
    plugin = host / install_cni.PLUGIN
    assert plugin.is_symlink()
    assert (host / install_cni.CONFLIST).read_text() == conflist.read_text()
    asked = b'{"cniVersion": "0.4.0"}'
    answer = exec_hidden(plugin, {"CNI_COMMAND": "VERSION"}, asked)
    assert answer.returncode == 0, answer.stderr.decode()
    assert json.loads(answer.stdout) == json.loads(version_answer(asked))


def test_a_bad_call_gets_a_cni_error_from_the_bundle(tmp_path, bundle, conflist):
    host = tmp_path / "host"
    assert run_install(host, bundle, conflist).returncode == 0
    plugin_conf = json.loads(conflist.read_text())
    config = {
        "cniVersion": plugin_conf["cniVersion"],
        "name": plugin_conf["name"],
        **plugin_conf["plugins"][0],
    }
    answer = exec_hidden(host / install_cni.PLUGIN, {"CNI_COMMAND": "ADD"}, json.dumps(config).encode())
    assert answer.returncode != 0
    error = json.loads(answer.stdout)
    assert error["code"] == 4 and "CNI_CONTAINERID" in error["msg"] + error.get("details", ""), error


@pytest.mark.ovs
def test_a_pod_through_the_installed_plugin(tmp_path, bundle, conflist, node, sandboxes):
    host = tmp_path / "host"
    assert run_install(host, bundle, conflist).returncode == 0
    plugin = host / install_cni.PLUGIN
    listed = json.loads(conflist.read_text())
    (entry,) = listed["plugins"]
    # The test node's agent listens on a socket of its own; everything else is the ConfigMap's.
    config = {
        "cniVersion": listed["cniVersion"],
        "name": listed["name"],
        **entry,
        "cniSocket": str(node.socket),
    }
    pod = sandboxes()

    def call(command: str, extra: dict | None = None) -> subprocess.CompletedProcess[bytes]:
        environ = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": pod.container_id,
            "CNI_NETNS": pod.netns,
            "CNI_IFNAME": "eth0",
            "CNI_ARGS": pod_args(pod.namespace, pod.name),
            "CNI_PATH": str(host / "opt/cni/bin"),
        }
        return exec_hidden(plugin, environ, json.dumps({**config, **(extra or {})}).encode())

    added = call("ADD")
    assert added.returncode == 0, added.stdout + added.stderr
    result = json.loads(added.stdout)
    (address,) = result["ips"]
    assert address["address"].startswith("10.244.1.")
    checked = call("CHECK", {"prevResult": result})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    deleted = call("DEL")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr


def variant(bundle: Path, where: Path, tag: str) -> Path:
    """A copy of the bundle that differs in one file, as the next release's would."""
    copy = where / tag / "pyantrea"
    shutil.copytree(bundle, copy, symlinks=True)
    (copy / "_internal" / "release.txt").write_text(tag)
    return copy


def test_upgrades_switch_the_link_keep_one_previous_version_and_remove_older(tmp_path, bundle, conflist):
    host = tmp_path / "host"
    bundles = host / install_cni.BUNDLES
    plugin = host / install_cni.PLUGIN
    first, second, third = (variant(bundle, tmp_path, tag) for tag in ("v1", "v2", "v3"))
    digests = [install_cni.bundle_digest(b) for b in (first, second, third)]
    assert len(set(digests)) == 3

    assert run_install(host, first, conflist).returncode == 0
    again = run_install(host, first, conflist)
    assert "present" in again.stdout and "up to date" in again.stdout, again.stdout
    assert os.readlink(plugin) == f"pyantrea.d/{digests[0]}/pyantrea"

    (bundles / f".{digests[1]}.interrupted").mkdir()  # a copy a killed run left behind
    assert run_install(host, second, conflist).returncode == 0
    assert os.readlink(plugin) == f"pyantrea.d/{digests[1]}/pyantrea"
    assert sorted(p.name for p in bundles.iterdir()) == sorted(digests[:2])

    done = run_install(host, third, conflist)
    assert done.returncode == 0
    assert f"removed the old bundle {bundles / digests[0]}" in done.stdout
    assert sorted(p.name for p in bundles.iterdir()) == sorted(digests[1:])
    answer = exec_hidden(plugin, {"CNI_COMMAND": "VERSION"}, b"")
    assert answer.returncode == 0, answer.stderr.decode()


def test_install_refuses_what_a_runtime_could_not_use(tmp_path, bundle, conflist):
    host = tmp_path / "host"
    wrong = tmp_path / "wrong.conflist"
    wrong.write_text(json.dumps({"cniVersion": "1.0.0", "name": "x", "plugins": [{"type": "bridge"}]}))
    done = run_install(host, bundle, wrong)
    assert done.returncode == 1 and "no plugin of type 'pyantrea'" in done.stderr
    assert not host.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_install(tmp_path / "other", empty, conflist)
    assert done.returncode == 1 and "executable is missing" in done.stderr
    assert not (tmp_path / "other" / install_cni.PLUGIN).exists()
