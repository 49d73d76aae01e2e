"""kube-proxy's configuration in a lab node, checked by the real kube-proxy's own validation."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Network
from pathlib import Path

import pytest
import yaml

from lab.kubernetes.binaries import program
from lab.kubernetes.proxy import kube_proxy, kube_proxy_config


@pytest.mark.parametrize("mode", ["nftables", "iptables"])
def test_the_real_kube_proxy_accepts_the_configuration(tmp_path: Path, mode: str):
    config = kube_proxy_config(node_name="node2", cluster_cidr=IPv4Network("172.16.0.0/16"), mode=mode)
    assert config["mode"] == mode and config["clusterCIDR"] == "172.16.0.0/16"
    assert config["hostnameOverride"] == "node2" and config["clientConnection"] == {"kubeconfig": ""}
    path = tmp_path / "kube-proxy.yaml"
    path.write_text(yaml.safe_dump(config))
    # --write-config-to loads, defaults and validates the file, writes it back and exits
    written = tmp_path / "written.yaml"
    argv = [*kube_proxy(program("kube-proxy"), path), f"--write-config-to={written}"]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(written.read_text())["mode"] == mode


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="nftables, iptables, not 'ipvs'"):
        kube_proxy_config(node_name="node1", cluster_cidr=IPv4Network("172.16.0.0/16"), mode="ipvs")
