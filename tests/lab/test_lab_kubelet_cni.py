"""The lab kubelet's runtime side of CNI, with the containernetworking `loopback` plugin: the
configuration found as runtimes find it, the environment and stdin a plugin gets, its result
read, and its failures reported with the plugin's own words."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lab import netns
from lab.kubelet.cni import Attachment, CniConfigMissing, CniFailure, CniRuntime, find_network_config

CNI_BIN = Path("/usr/lib/cni")


def conflist(directory: Path, name: str, plugins: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps({"cniVersion": "1.0.0", "name": "lab", "plugins": plugins}))
    return path


def attachment(namespace: str) -> Attachment:
    return Attachment("c0ffee", netns.netns_path(namespace), "ns", "pod", "uid-1")


def test_the_first_configuration_by_name_is_used(tmp_path: Path):
    with pytest.raises(CniConfigMissing):
        find_network_config(tmp_path)
    conflist(tmp_path, "20-other.conflist", [])
    first = conflist(tmp_path, "10-pyantrea.conflist", [])
    (tmp_path / "00-notes.txt").write_text("not a configuration")
    assert find_network_config(tmp_path) == first
    assert CniRuntime(tmp_path, [CNI_BIN]).ready() is None
    assert "no network configuration" in (CniRuntime(tmp_path / "none", [CNI_BIN]).ready() or "")


@pytest.mark.skipif(not (CNI_BIN / "loopback").exists(), reason="containernetworking-plugins not installed")
def test_add_runs_the_plugins_in_the_pods_namespace_and_reads_the_address(tmp_path: Path, namespace: str):
    conflist(tmp_path, "10-lab.conflist", [{"type": "loopback"}])
    runtime = CniRuntime(tmp_path, [tmp_path / "no-such-dir", CNI_BIN])
    netns.run(namespace, "ip", "link", "set", "lo", "down")
    address = asyncio.run(runtime.add(attachment(namespace)))
    assert str(address) == "127.0.0.1/8"
    assert "UP" in netns.run(namespace, "ip", "-o", "link", "show", "lo").stdout
    asyncio.run(runtime.delete(attachment(namespace)))


def test_a_missing_plugin_and_a_plugin_error_are_reported_with_their_reason(tmp_path: Path, namespace: str):
    conflist(tmp_path, "10-lab.conflist", [{"type": "nonexistent"}])
    with pytest.raises(CniFailure, match=f"plugin 'nonexistent' not found in {CNI_BIN}"):
        asyncio.run(CniRuntime(tmp_path, [CNI_BIN]).add(attachment(namespace)))
    conflist(tmp_path, "10-lab.conflist", [{"type": "host-local"}])  # IPAM alone, without its ipam section
    with pytest.raises(CniFailure) as failure:
        asyncio.run(CniRuntime(tmp_path, [CNI_BIN]).add(attachment(namespace)))
    assert str(failure.value).startswith("host-local: ")
    assert not failure.value.try_again_later
