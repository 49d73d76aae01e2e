"""The node's redirects into OVS of Service traffic that reaches the node's own stack.

Connections to a NodePort on one of the node's NodePort addresses arrive at the node's own
stack, not at OVS. One nftables table of pyantrea's own DNATs them, for the whole NodePort
range, to the virtual address 169.254.0.252, which the node routes through gw0 (next hop
169.254.0.253, answered by OVS): OVS marks them as NodePort traffic (table 32) and balances them
like any other (its conntrack undoes the DNAT's effect on the replies; the node's undoes its own).
Both external clients (prerouting) and the node's own processes (output) are redirected.

externalIPs and LoadBalancer ingress IPs are not the node's: traffic for them that another
machine routes to the node, or that the node itself sends, only needs a route into OVS, one /32
per address through gw0 to 169.254.0.253 (`external_addresses` says which), where ServiceLB
matches them like a pod's packets to them; replies leave OVS through gw0, un-DNATed, and the
node routes them back to the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address

from agent.proxy.model import Service

NODE_PORT_VIRTUAL_IP = IPv4Address("169.254.0.252")
NODE_PORT_RANGE = (30000, 32767)
TABLE = "pyantrea-proxy"


class RedirectError(RuntimeError):
    """nft refused the ruleset; the message carries its error."""


def ruleset(addresses: Sequence[IPv4Address], port_range: tuple[int, int] = NODE_PORT_RANGE) -> str:
    """The whole table, replaced at once (pure)."""
    low, high = port_range
    targets = ", ".join(str(ip) for ip in sorted(set(addresses)))
    rules = "\n".join(
        f"    ip daddr {{ {targets} }} {proto} dport {low}-{high} dnat to {NODE_PORT_VIRTUAL_IP}"
        for proto in ("tcp", "udp", "sctp")
    )
    return (
        f"table ip {TABLE}\n"
        f"delete table ip {TABLE}\n"
        f"table ip {TABLE} {{\n"
        f"  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n"
        f"{rules}\n  }}\n"
        f"  chain output {{\n    type nat hook output priority -100; policy accept;\n{rules}\n  }}\n"
        f"}}\n"
    )


async def install(addresses: Sequence[IPv4Address]) -> None:
    """Replace the node's redirect table (in the agent's network namespace), and make sure the
    node forwards (an external client's packets, once DNATed, are forwarded into gw0)."""
    if not addresses:
        return
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write("1\n")
    process = await asyncio.create_subprocess_exec(
        "nft", "-f", "-", stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate(ruleset(addresses).encode())
    if process.returncode != 0:
        raise RedirectError(f"nft -f failed ({process.returncode}): {err.decode().strip()}")


def external_addresses(services: Iterable[Service]) -> frozenset[IPv4Address]:
    """The externalIPs and LoadBalancer ingress IPs of `services` (pure): the addresses the node
    routes into OVS."""
    return frozenset(ip for s in services for ip in (*s.external_ips, *s.load_balancer_ips))
