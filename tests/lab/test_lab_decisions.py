"""The lab's pure decisions: label arguments, and the tables and truth table it prints."""

from __future__ import annotations

import datetime
import json

import pytest

from lab import kinds
from lab.applying import LabelError, label_patch
from lab.prober import Verdict
from lab.probing import as_json, truth_table
from lab.tables import render
from pyantrea_kube.printing import human_duration


def test_label_arguments_set_or_remove():
    assert label_patch(["a=1", "b-", "c=", "d=e-"]) == {"a": "1", "b": None, "c": "", "d": "e-"}
    for bad in ("nothing", "=v"):
        with pytest.raises(LabelError, match="invalid label"):
            label_patch([bad])


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
