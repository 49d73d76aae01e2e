"""What a node holds for its pods, read with the system's own tools: OVS ports and flows, the
devices in the node's namespace, host-local's reservations. Comparing two snapshots shows
whatever an operation left behind."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lab import netns
from pyantrea_testing.cninode import BRIDGE, Node

NETWORK = "pyantrea"


@dataclass(frozen=True)
class Snapshot:
    ports: frozenset[str]
    links: frozenset[str]
    flows: frozenset[str]
    reservations: frozenset[str]


def reservations(node: Node) -> dict[str, str]:
    """host-local's reserved addresses: address -> container id."""
    directory = node.state_dir / "ipam" / NETWORK
    if not directory.is_dir():
        return {}
    found = {}
    for path in directory.iterdir():
        if path.name == "lock" or path.name.startswith("last_reserved_ip"):
            continue
        found[path.name] = path.read_text().split()[0]
    return found


def links(node: Node) -> dict[str, dict]:
    """The devices of the node's namespace by name (`ip -j link`)."""
    out = netns.run(node.netns, "ip", "-j", "-d", "link", "show").stdout
    return {link["ifname"]: link for link in json.loads(out)}


def pod_link(netns_name: str, ifname: str) -> dict | None:
    done = netns.run(netns_name, "ip", "-j", "addr", "show", "dev", ifname, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def snapshot(node: Node) -> Snapshot:
    ports = node.ovs.vsctl("list-ports", BRIDGE).split()
    flows = node.ovs.ofctl("dump-flows", BRIDGE, options=("--no-stats",)).splitlines()
    return Snapshot(
        ports=frozenset(ports),
        links=frozenset(links(node)),
        flows=frozenset(_without_cookie(line) for line in flows if "actions=" in line),
        reservations=frozenset(reservations(node)),
    )


def _without_cookie(flow: str) -> str:
    """A flow as text without its cookie, which changes with the agent's round on a restart."""
    return re.sub(r"cookie=0x[0-9a-f]+, ", "", flow.strip())
