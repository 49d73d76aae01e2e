"""Pod traffic leaving the node: masqueraded to the node's address, as Antrea's agent does in encap
mode (`-s <pod subnet> ! -o gw0 -j MASQUERADE`).

A pod that reaches another node's address (a NodePort, the API server) goes out of gw0 and the
host routes it on; without the source rewrite, the answer would come back through the tunnel to
a conntrack zone that never saw the question, and be dropped as invalid. One nftables table of
the agent's own, `ip pyantrea`, replaced atomically (`nft -f`) at every start; traffic that leaves
through gw0 (to pods, also after kube-proxy's DNAT) keeps its source.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Network
from pathlib import Path

TABLE = "pyantrea"


class MasqueradeError(RuntimeError):
    """nft refused the ruleset; the message has its reason."""


def masquerade_ruleset(pod_subnet: IPv4Network, gateway: str) -> str:
    """The nft script that (re)creates the agent's table: one postrouting rule."""
    return (
        f"table ip {TABLE}\n"
        f"delete table ip {TABLE}\n"
        f"table ip {TABLE} {{\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat + 10; policy accept;\n"
        f'    ip saddr {pod_subnet} oifname != "{gateway}" masquerade\n'
        "  }\n"
        "}\n"
    )


async def install_masquerade(pod_subnet: IPv4Network, gateway: str, *, netns: Path | None) -> None:
    """Apply the ruleset in the node's namespace (`netns`, None: the agent's own)."""
    argv = ["nft", "-f", "-"]
    if netns is not None:
        argv = ["nsenter", f"--net={netns}", *argv]
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate(masquerade_ruleset(pod_subnet, gateway).encode())
    if process.returncode != 0:
        raise MasqueradeError(f"nft could not install the pod masquerade rule: {stderr.decode().strip()}")
