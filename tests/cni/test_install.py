"""The install-cni step: the plugin and the conflist land in the host's CNI directories,
atomically and idempotently, and the conflist is one the plugin accepts."""

import json
import subprocess
import sys

from cni.install import CONFLIST, install
from cni.install import PLUGIN as PLUGIN_PATH
from cni.netconf import decode_config
from pyantrea_testing.cniruntime import PLUGIN


def test_install_copies_the_plugin_and_writes_the_conflist(tmp_path):
    done = install(tmp_path, plugin=PLUGIN, mtu=1400, socket="/run/pyantrea/cni.sock")
    assert done.plugin == tmp_path / PLUGIN_PATH == tmp_path / "opt/cni/bin/pyantrea"
    assert done.conflist == tmp_path / CONFLIST == tmp_path / "etc/cni/net.d/10-pyantrea.conflist"
    assert done.plugin_changed and done.conflist_changed
    assert done.plugin.read_bytes() == PLUGIN.read_bytes()
    assert done.plugin.stat().st_mode & 0o777 == 0o755
    conflist = json.loads(done.conflist.read_text())
    assert conflist["name"] == "pyantrea"
    (plugin,) = conflist["plugins"]
    assert plugin == {
        "type": "pyantrea",
        "mtu": 1400,
        "cniSocket": "/run/pyantrea/cni.sock",
        "ipam": {"type": "host-local"},
    }
    # what a runtime hands the plugin for this entry
    derived = {"cniVersion": conflist["cniVersion"], "name": conflist["name"], **plugin}
    config = decode_config(json.dumps(derived).encode(), "ADD")
    assert (config.mtu, config.cni_socket) == (1400, "/run/pyantrea/cni.sock")
    assert sorted(path.name for path in done.conflist.parent.iterdir()) == ["10-pyantrea.conflist"]


def test_the_installed_plugin_runs(tmp_path):
    done = install(tmp_path, plugin=PLUGIN, mtu=1450, socket="/run/pyantrea/cni.sock")
    run = subprocess.run(
        [str(done.plugin)], input=b'{"cniVersion":"0.3.1"}', env={"CNI_COMMAND": "VERSION"},
        capture_output=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0
    assert json.loads(run.stdout)["cniVersion"] == "0.3.1"


def test_install_again_changes_nothing_and_a_new_mtu_rewrites_only_the_conflist(tmp_path):
    first = install(tmp_path, plugin=PLUGIN, mtu=1450, socket="/run/pyantrea/cni.sock")
    stamps = (first.plugin.stat().st_mtime_ns, first.conflist.stat().st_mtime_ns)
    again = install(tmp_path, plugin=PLUGIN, mtu=1450, socket="/run/pyantrea/cni.sock")
    assert not again.plugin_changed and not again.conflist_changed
    assert (again.plugin.stat().st_mtime_ns, again.conflist.stat().st_mtime_ns) == stamps
    changed = install(tmp_path, plugin=PLUGIN, mtu=1400, socket="/run/pyantrea/cni.sock")
    assert not changed.plugin_changed and changed.conflist_changed
    assert json.loads(changed.conflist.read_text())["plugins"][0]["mtu"] == 1400
    assert sorted(p.name for p in changed.plugin.parent.iterdir()) == ["pyantrea"]


def test_install_replaces_a_stale_plugin_and_fixes_its_mode(tmp_path):
    stale = tmp_path / PLUGIN_PATH
    stale.parent.mkdir(parents=True)
    stale.write_text("#!/bin/sh\nexit 1\n")
    stale.chmod(0o600)
    done = install(tmp_path, plugin=PLUGIN, mtu=1450, socket="/run/pyantrea/cni.sock")
    assert done.plugin_changed
    assert stale.read_bytes() == PLUGIN.read_bytes() and stale.stat().st_mode & 0o777 == 0o755


def test_the_command_line(tmp_path):
    argv = [sys.executable, "-m", "cni.install", "--host-root", str(tmp_path), "--plugin", str(PLUGIN)]
    argv += ["--mtu", "1300"]
    first = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "installed" in first.stdout
    assert json.loads((tmp_path / CONFLIST).read_text())["plugins"][0]["mtu"] == 1300
    again = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert again.stdout.count("up to date") == 2
    bad = subprocess.run([*argv[:-1], "12"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "mtu 12" in bad.stderr
