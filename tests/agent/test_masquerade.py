"""The agent's masquerade table, installed by the real nft in a namespace of the test's own."""

from __future__ import annotations

import asyncio
import subprocess
from ipaddress import IPv4Network

from agent.node.masquerade import install_masquerade
from lab import netns


def _ruleset(namespace: str) -> str:
    return subprocess.run(["ip", "netns", "exec", namespace, "nft", "list", "table", "ip", "pyantrea"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def test_pod_traffic_leaving_other_than_by_gw0_is_masqueraded_and_a_restart_replaces_the_rule(namespace: str):
    path = netns.netns_path(namespace)
    asyncio.run(install_masquerade(IPv4Network("172.16.3.0/24"), "gw0", netns=path))
    first = _ruleset(namespace)
    assert 'ip saddr 172.16.3.0/24 oifname != "gw0" masquerade' in first
    assert "type nat hook postrouting" in first
    asyncio.run(install_masquerade(IPv4Network("172.16.4.0/24"), "gw0", netns=path))
    second = _ruleset(namespace)
    assert "172.16.4.0/24" in second and "172.16.3.0/24" not in second
    assert second.count("masquerade") == 1
