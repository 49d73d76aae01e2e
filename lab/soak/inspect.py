"""What one lab node holds, read from outside its agent: br-int's flows and groups (ovs-ofctl
on the node's management socket), the pod interfaces on br-int with the pod each names (OVSDB), the
host-side veths (netlink of the node's namespace) and host-local's address files (the node's CNI
state directory)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from lab.layout import LabLayout
from lab.nodes import TRANSPORT_INTERFACE
from lab.ovs import OvsPaths

BRIDGE = "br-int"


class InspectFailed(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class PodPort:
    name: str
    pod: str
    """namespace/name from the interface's external_ids (agent.pods.portids)."""


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise InspectFailed(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


class NodeInspector:
    def __init__(self, layout: LabLayout, node: str, netns: str) -> None:
        self.node = node
        self.netns = netns
        self._paths = layout.node(node)
        self._ovs = OvsPaths(self._paths.ovs)

    def flows(self) -> list[str]:
        mgmt = f"unix:{self._ovs.mgmt_socket(BRIDGE)}"
        text = _run(["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", mgmt])
        return [line for line in text.splitlines() if line.strip() and "_FLOW reply" not in line]

    def groups(self) -> list[str]:
        """br-int's groups, one `group_id=N,type=...,bucket=...` line each."""
        mgmt = f"unix:{self._ovs.mgmt_socket(BRIDGE)}"
        text = _run(["ovs-ofctl", "-O", "OpenFlow15", "dump-groups", mgmt])
        return [line.strip() for line in text.splitlines() if line.strip().startswith("group_id=")]

    def flow_rounds(self) -> set[int]:
        """The rounds (cookie bits 48-63) of br-int's flows."""
        rounds = set()
        for line in self.flows():
            for field in line.strip().split(", "):
                if field.startswith("cookie="):
                    rounds.add(int(field.removeprefix("cookie="), 16) >> 48)
        return rounds

    def pod_ports(self) -> list[PodPort]:
        text = _run(
            ["ovs-vsctl", f"--db={self._ovs.db_remote}", "--format=json", "--columns=name,external_ids",
             "list", "Interface"]
        )  # fmt: skip
        document = json.loads(text)
        ports = []
        for name, external in document["data"]:
            ids = dict(external[1]) if external[0] == "map" else {}
            if "pod-name" in ids:
                ports.append(PodPort(name, f"{ids.get('pod-namespace', '')}/{ids['pod-name']}"))
        return ports

    def veths(self) -> list[str]:
        """The node's veths but its link to the underlay (the pods' host ends)."""
        text = _run(["ip", "-n", self.netns, "-j", "link", "show", "type", "veth"])
        names = (link["ifname"] for link in json.loads(text or "[]"))
        return sorted(name for name in names if name != TRANSPORT_INTERFACE)

    def ipam_addresses(self) -> dict[IPv4Address, str]:
        """host-local's reservations: address -> the container id holding it."""
        found = {}
        state = self._paths.agent_state / "cni"
        for path in state.rglob("*") if state.exists() else ():
            try:
                address = IPv4Address(path.name)
            except ValueError:
                continue
            if path.is_file():
                found[address] = Path(path).read_text().split()[0] if path.read_text().strip() else ""
        return found
