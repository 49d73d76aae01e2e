"""The lab kubelet's configuration: one JSON file per node, written by `pyantctl lab up`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class KubeletSettings:
    node_name: str
    node_netns: str
    """The node's network namespace, which the kubelet enters at start (see lab.kubelet.__main__)."""
    node_ip: str
    kubeconfig: str
    cni_conf_dir: str
    cni_bin_dirs: tuple[str, ...]
    """The runtime's CNI_PATH: where plugins are found, in order."""
    netns_prefix: str
    pods_dir: str
    agent_health_url: str
    """The agent's /readyz; the node is Ready once it answers 200 and a CNI config is installed."""
    cluster_dns: str = ""
    """The kube-dns Service's cluster IP, written into ClusterFirst pods' resolv.conf ("" : none)."""
    cluster_domain: str = "cluster.local"
    image_maps: tuple[str, ...] = ()
    """Image map files (lab.kubelet.images), looked at in order."""
    api_host: str = ""
    api_port: int = 443
    ca_file: str = ""
    """The cluster's CA, given to pods whose program gets a ServiceAccount token."""

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> KubeletSettings:
        """Raises OSError, or ValueError naming what is wrong with the file."""
        try:
            document = json.loads(path.read_text())
            return cls(
                **{
                    **document,
                    "cni_bin_dirs": tuple(document["cni_bin_dirs"]),
                    "image_maps": tuple(document.get("image_maps") or ()),
                }
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a lab kubelet configuration: {exc}") from exc
