"""Geneve and GRE labs of two nodes: pods on different nodes reach each other through the tunnel
the lab was started with, from the first packet (VXLAN is test_cluster's lab)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.lab import Lab, all_reachable, assert_first_packets_arrive, namespace_manifest, pod_manifest

pytestmark = pytest.mark.ovs


@pytest.mark.parametrize("tunnel", ["geneve", "gre"])
def test_pods_on_two_nodes_talk_through_the_tunnel(make_lab: Callable[[], Lab], tunnel: str):
    lab = make_lab().up(2, tunnel)
    assert "all 2 nodes Ready" in lab.up_output
    assert lab.status()["tunnel"] == tunnel
    manifest = (
        namespace_manifest("t")
        + pod_manifest("t", "one", node="node1")
        + pod_manifest("t", "two", node="node2")
    )
    lab.apply(manifest, "--wait")
    assert_first_packets_arrive(lab, "t")
    pods = lab.pods("t")
    assert pods["one"]["status"]["podIP"].startswith("172.16.0.")
    assert pods["two"]["status"]["podIP"].startswith("172.16.1.")
    assert all_reachable(lab.probe(80, "-n", "t"))
    assert all_reachable(lab.probe(81, "--protocol", "UDP", "-n", "t"))
