"""The lab's pure decisions: apply's merge patch, labels, the scheduler's choice, the Deployment
controller's pod names, plan and status, and the tables and truth table it prints."""

from __future__ import annotations

import datetime
import json

import pytest

from lab import kinds
from lab.applying import LabelError, label_patch, three_way_patch
from lab.controllers import deployments
from lab.controllers.objects import DeploymentView, NodeView, PodView, canonical
from lab.controllers.scheduler import NoNodeAvailable, choose_node
from lab.prober import Verdict
from lab.probing import as_json, truth_table
from lab.tables import human_duration, render

SAFE = set("bcdfghjklmnpqrstvwxz2456789")


def test_apply_sets_what_the_file_says_and_removes_only_what_it_no_longer_says():
    last = {"metadata": {"labels": {"app": "web", "old": "x"}}, "spec": {"replicas": 3, "paused": True}}
    desired = {"metadata": {"labels": {"app": "web"}}, "spec": {"replicas": 2}}
    assert three_way_patch(last, desired) == {
        "metadata": {"labels": {"app": "web", "old": None}},
        "spec": {"replicas": 2, "paused": None},
    }
    assert three_way_patch(None, desired) == desired


def test_label_arguments_set_or_remove():
    assert label_patch(["a=1", "b-", "c=", "d=e-"]) == {"a": "1", "b": None, "c": "", "d": "e-"}
    for bad in ("nothing", "=v"):
        with pytest.raises(LabelError, match="invalid label"):
            label_patch([bad])


def pod(name: str, node: str = "", owner: str = "", ready: bool = True, pod_hash: str = "") -> PodView:
    return PodView("ns", name, f"uid-{name}", node, owner, pod_hash, ready)


NODES = [NodeView("node1", True, True), NodeView("node2", True, True), NodeView("node10", True, True)]


def test_the_scheduler_spreads_a_deployments_pods_then_all_pods_in_node_order():
    assert choose_node(pod("p"), NODES, []) == "node1"
    assert choose_node(pod("p"), NODES, [pod("a", "node1")]) == "node2"
    placed = [pod("a", "node1"), pod("b", "node2")]
    assert choose_node(pod("p"), NODES, placed) == "node10"
    # node2 holds a sibling, node1 and node10 none; node1 holds more pods, so node10.
    placed = [pod("s", "node2", owner="d"), pod("x", "node1"), pod("y", "node1")]
    assert choose_node(pod("p", owner="d"), NODES, placed) == "node10"


def test_the_scheduler_waits_for_a_ready_schedulable_node():
    with pytest.raises(NoNodeAvailable):
        choose_node(pod("p"), [NodeView("node1", False, True), NodeView("node2", True, False)], [])


def deployment(replicas: int, template: dict | None = None, generation: int = 1) -> DeploymentView:
    template = template or {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}
    return DeploymentView("ns", "web", "d-uid", generation, replicas, canonical(template), canonical({}))


def test_pod_names_and_bodies_follow_upstream():
    web = deployment(3)
    pod_hash = deployments.template_hash(web.template)
    assert set(pod_hash) <= SAFE and 8 <= len(pod_hash) <= 10
    assert deployments.template_hash(web.template) == pod_hash
    assert deployments.template_hash(deployment(3, {"spec": {}}).template) != pod_hash
    body = deployments.pod_body(web, pod_hash)
    assert body["metadata"]["generateName"] == f"web-{pod_hash}-"
    assert body["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    (owner,) = body["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("Deployment", "d-uid", True)
    assert body["spec"] == {"containers": [{"name": "c"}]}


def test_the_plan_creates_missing_pods_and_replaces_old_ones():
    web = deployment(3)
    current = deployments.template_hash(web.template)
    owned = [pod("a", "node1", "d-uid", pod_hash=current), pod("old", "node2", "d-uid", pod_hash="zzz")]
    assert deployments.plan(web, owned, pending_creates=0) == deployments.Plan(create=2, delete=("old",))
    assert deployments.plan(web, owned, pending_creates=2) == deployments.Plan(create=0, delete=("old",))


def test_scaling_down_removes_unscheduled_and_unready_pods_first():
    web = deployment(1)
    current = deployments.template_hash(web.template)
    owned = [
        pod("ready", "node1", "d-uid", pod_hash=current),
        pod("unready", "node1", "d-uid", ready=False, pod_hash=current),
        pod("pending", "", "d-uid", ready=False, pod_hash=current),
    ]
    assert deployments.plan(web, owned, 0) == deployments.Plan(create=0, delete=("pending", "unready"))


def test_the_status_counts_ready_and_updated_pods():
    web = deployment(2, generation=4)
    current = deployments.template_hash(web.template)
    owned = [
        pod("a", "node1", "d-uid", pod_hash=current),
        pod("b", "node1", "d-uid", ready=False, pod_hash="x"),
    ]
    status = deployments.status(web, owned, pending_creates=1)
    counts = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas")
    assert [status[key] for key in counts] == [4, 3, 2, 1]
    assert status["conditions"][0]["status"] == "False"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (347, "5m47s"), (600, "10m"), (14 * 60, "14m"), (3 * 3600 + 60, "3h1m"),
     (30 * 3600, "30h"), (2 * 86400 + 3 * 3600, "2d3h"), (40 * 86400, "40d"), (800 * 86400, "2y70d")],
)  # fmt: skip
def test_ages_read_as_kubectl_prints_them(seconds: int, text: str):
    assert human_duration(seconds) == text


def test_pods_print_with_ip_and_node_and_the_waiting_reason():
    now = datetime.datetime(2020, 1, 14, 20, 30, tzinfo=datetime.UTC)
    running = {
        "metadata": {"name": "frontend-6cb7f8bd65-25qv4", "namespace": "development",
                     "creationTimestamp": "2020-01-14T20:24:13Z"},
        "spec": {"nodeName": "antrea-worker-2", "containers": [{"name": "php-redis"}]},
        "status": {"phase": "Running", "podIP": "172.16.2.4",
                   "containerStatuses": [{"ready": True, "restartCount": 0, "state": {"running": {}}}]},
    }  # fmt: skip
    waiting = json.loads(json.dumps(running))
    waiting["metadata"]["name"] = "redis-slave-7664787fbc-5xrvj"
    waiting["status"] = {
        "phase": "Pending",
        "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}],
    }
    lines = render(kinds.POD, [running, waiting], now=now).splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert lines[1].split() == [
        "frontend-6cb7f8bd65-25qv4",
        "1/1",
        "Running",
        "0",
        "5m47s",
        "172.16.2.4",
        "antrea-worker-2",
    ]
    assert lines[2].split()[2] == "ContainerCreating"
    wide = render(kinds.POD, [running], wide=True, all_namespaces=True, now=now).splitlines()
    assert wide[0].split()[:2] == ["NAMESPACE", "NAME"] and wide[0].endswith("READINESS GATES")


def test_the_truth_table_marks_each_verdict_and_explains_the_marks_it_uses():
    r, d, x = Verdict.REACHABLE, Verdict.DROPPED, Verdict.REFUSED
    verdicts = {"x/a": {"x/a": r, "x/b": d}, "x/b": {"x/a": x, "x/b": r}}
    assert truth_table(["x/a", "x/b"], verdicts).splitlines() == [
        "-     x/a   x/b",
        "x/a   .     X",
        "x/b   R     .",
        "",
        ". reachable   X dropped (no answer before the timeout)   "
        "R refused (nothing listens: a reset or ICMP unreachable came back)",
    ]
    everything_reached = {"x/a": {"x/a": r}}
    assert truth_table(["x/a"], everything_reached).splitlines()[-1] == ". reachable"


def test_probe_json_keeps_reachable_and_adds_the_verdicts():
    verdicts = {"x/a": {"x/a": Verdict.REACHABLE, "x/b": Verdict.REFUSED}}
    assert json.loads(as_json(["x/a", "x/b"], verdicts)) == {
        "pods": ["x/a", "x/b"],
        "reachable": {"x/a": {"x/a": True, "x/b": False}},
        "verdicts": {"x/a": {"x/a": "reachable", "x/b": "refused"}},
    }
