"""The lab's controller and agents serve Prometheus metrics named `pyantrea_*`, read back with
prometheus_client's own parser after a pod and a policy were set up on node2."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lab.health import get_in_netns
from lab.up import AGENT_API_PORT, CONTROLLER_HTTP_PORT
from tests.e2e.lab import Lab, namespace_manifest, pod_manifest

pytestmark = pytest.mark.ovs

NS = "obs-metrics"
POLICY = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: isolate, namespace: {NS}}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
"""


def scrape(lab: Lab, node: str, port: int, scheme: str = "http") -> dict[str, Any]:
    netns = {n["name"]: n["netns"] for n in lab.status()["nodes"]}[node]
    status, text = get_in_netns(netns, f"{scheme}://127.0.0.1:{port}/metrics", timeout=10)
    assert status == 200, text
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, suffix: str = "", **labels: str) -> list[float]:
    return [
        s.value
        for s in family.samples
        if s.name == family.name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def test_controller_and_agent_metrics(lab: Lab):
    lab.apply(namespace_manifest(NS) + pod_manifest(NS, "only", node="node2") + POLICY, "--wait")

    controller = scrape(lab, "node1", CONTROLLER_HTTP_PORT)
    objects = {s.labels["kind"]: s.value for s in controller["pyantrea_controller_objects"].samples}
    assert objects["NetworkPolicy"] >= 1 and objects["AppliedToGroup"] >= 1
    assert samples(controller["pyantrea_controller_watchers"]) == [2.0]
    assert sum(samples(controller["pyantrea_controller_events_sent"], "_total")) > 0
    assert samples(controller["pyantrea_controller_computation_seconds"], "_count", phase="initial") == [1.0]
    assert samples(controller["pyantrea_controller_status_reports"], "_total")[0] > 0
    assert controller["pyantrea_controller_sync_errors"].type == "counter"

    agent = scrape(lab, "node2", AGENT_API_PORT, "https")
    flows = {s.labels["table"]: s.value for s in agent["pyantrea_agent_ovs_flows"].samples}
    assert flows["Classifier"] > 0 and flows["IngressDefault"] >= 2  # the miss and the isolation
    assert samples(agent["pyantrea_agent_ovs_bundle_seconds"], "_count")[0] > 0
    assert samples(agent["pyantrea_agent_ovs_reconnects"], "_total") == [0.0]
    assert samples(agent["pyantrea_agent_policy_realization_seconds"], "_count")[0] >= 1
    assert samples(agent["pyantrea_agent_cni_operation_seconds"], "_count", command="ADD")[0] >= 1
    assert agent["pyantrea_agent_cni_errors"].type == "counter"
