"""Watch semantics of the lab's API stand-in, through the official client's `watch.Watch`
and raw watch responses: resourceVersion, bookmarks, 410 Gone, selectors, timeouts, many
concurrent watchers, slow watchers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiException
from kubernetes.watch.watch import iter_resp_lines

from kube.config import load_api_client
from lab.apiserver import ApiServerSettings, ApiServerThread
from lab.apiserver.resources import PODS
from lab.apiserver.selectors import FieldSelector, LabelSelector
from lab.apiserver.watch import Watcher


@pytest.fixture
def server() -> Iterator[ApiServerThread]:
    with ApiServerThread(ApiServerSettings(history_size=5, bookmark_interval=0.1)) as running:
        yield running


@pytest.fixture
def core(server: ApiServerThread, tmp_path: Path) -> Iterator[client.CoreV1Api]:
    api = load_api_client(server.write_kubeconfig(tmp_path / "kubeconfig"))
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "shop"}})
    try:
        yield core
    finally:
        api.close()


def pod_body(name: str, node: str = "node-1", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "main"}]},
    }


def current_rv(core: client.CoreV1Api) -> str:
    return core.list_namespaced_pod("shop").metadata.resource_version


def take(stream: Iterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    events = []
    for event in stream:
        events.append(event)
        if len(events) == count:
            break
    return events


def raw_lines(response: Any, count: int) -> list[dict[str, Any]]:
    lines = []
    for line in iter_resp_lines(response):
        lines.append(json.loads(line))
        if len(lines) == count:
            break
    return lines


def test_watch_from_a_resource_version_sees_each_change_in_order(core: client.CoreV1Api):
    start = current_rv(core)
    core.create_namespaced_pod("shop", pod_body("web"))
    core.patch_namespaced_pod("web", "shop", {"metadata": {"labels": {"v": "2"}}})
    core.delete_namespaced_pod("web", "shop")
    events = take(watch.Watch().stream(core.list_namespaced_pod, "shop", resource_version=start), 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(isinstance(e["object"], client.V1Pod) for e in events)
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert events[1]["object"].metadata.labels == {"v": "2"}
    assert events[2]["object"].metadata.deletion_timestamp is not None


def test_watch_without_resource_version_starts_with_the_current_objects(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("a"))
    core.create_namespaced_pod("shop", pod_body("b"))
    events = take(watch.Watch().stream(core.list_namespaced_pod, "shop"), 2)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "a"), ("ADDED", "b")]


def test_bookmarks_carry_the_current_resource_version(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("a"))
    start = current_rv(core)
    stream = watch.Watch().stream(
        core.list_namespaced_pod, "shop", resource_version=start, allow_watch_bookmarks=True
    )
    bookmark = take(stream, 1)[0]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["raw_object"]["kind"] == "Pod"
    assert int(bookmark["raw_object"]["metadata"]["resourceVersion"]) >= int(start)


def test_no_bookmarks_unless_asked(core: client.CoreV1Api):
    start = current_rv(core)
    events = list(
        watch.Watch().stream(core.list_namespaced_pod, "shop", resource_version=start, timeout_seconds=1)
    )
    assert events == []


def test_send_initial_events_ends_with_an_annotated_bookmark(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("a"))
    response = core.list_namespaced_pod(
        "shop",
        watch=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        _preload_content=False,
    )
    try:
        added, bookmark = raw_lines(response, 2)
    finally:
        response.close()
    assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "a")
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_too_old_resource_version_is_410_gone(core: client.CoreV1Api):
    start = current_rv(core)
    for index in range(7):  # more changes than the history of 5 keeps
        core.create_namespaced_pod("shop", pod_body(f"p{index}"))
    response = core.list_namespaced_pod("shop", watch=True, resource_version=start, _preload_content=False)
    try:
        (error,) = raw_lines(response, 1)
    finally:
        response.close()
    assert error["type"] == "ERROR"
    assert error["object"]["kind"] == "Status"
    assert (error["object"]["code"], error["object"]["reason"]) == (410, "Expired")
    assert "too old resource version" in error["object"]["message"]
    # The official Watch helper turns it into an ApiException when it may not retry on its own.
    with pytest.raises(ApiException) as gone:
        list(
            watch.Watch().stream(core.list_namespaced_pod, "shop", resource_version=start, timeout_seconds=5)
        )
    assert gone.value.status == 410
    # Recent enough resourceVersions still replay.
    recent = take(
        watch.Watch().stream(
            core.list_namespaced_pod, "shop", resource_version=str(int(current_rv(core)) - 2)
        ),
        2,
    )
    assert [e["object"].metadata.name for e in recent] == ["p5", "p6"]


def test_resource_version_from_the_future_is_an_error_event(core: client.CoreV1Api):
    future = str(int(current_rv(core)) + 100)
    response = core.list_namespaced_pod("shop", watch=True, resource_version=future, _preload_content=False)
    try:
        (error,) = raw_lines(response, 1)
    finally:
        response.close()
    assert (error["type"], error["object"]["code"]) == ("ERROR", 504)
    assert error["object"]["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_label_selector_watch_sees_objects_enter_and_leave(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("web", app="web"))
    start = current_rv(core)
    core.patch_namespaced_pod("web", "shop", {"metadata": {"labels": {"app": "db"}}})
    core.patch_namespaced_pod("web", "shop", {"metadata": {"labels": {"v": "2"}}})  # not selected either way
    core.patch_namespaced_pod("web", "shop", {"metadata": {"labels": {"app": "web"}}})
    events = take(
        watch.Watch().stream(
            core.list_namespaced_pod, "shop", label_selector="app=web", resource_version=start
        ),
        2,
    )
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]
    # The DELETED carries the last content that matched, at the resourceVersion of the change.
    assert events[0]["object"].metadata.labels == {"app": "web"}
    assert int(events[0]["object"].metadata.resource_version) == int(start) + 1


def test_field_selector_watch_for_one_node(core: client.CoreV1Api):
    start = current_rv(core)
    core.create_namespaced_pod("shop", pod_body("theirs", node="node-2"))
    core.create_namespaced_pod("shop", pod_body("mine", node="node-1"))
    core.delete_namespace("shop")
    events = take(
        watch.Watch().stream(
            core.list_pod_for_all_namespaces, field_selector="spec.nodeName=node-1", resource_version=start
        ),
        2,
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "mine"),
        ("DELETED", "mine"),
    ]


def test_timeout_seconds_ends_the_watch(core: client.CoreV1Api):
    events = list(
        watch.Watch().stream(
            core.list_namespaced_pod, "shop", resource_version=current_rv(core), timeout_seconds=1
        )
    )
    assert events == []


def test_many_concurrent_watches_each_receive_every_event(core: client.CoreV1Api):
    start = current_rv(core)
    responses = [
        core.list_pod_for_all_namespaces(watch=True, resource_version=start, _preload_content=False)
        for _ in range(25)
    ]
    try:
        for index in range(4):
            core.create_namespaced_pod("shop", pod_body(f"p{index}"))
        for response in responses:
            lines = raw_lines(response, 4)
            assert [(line["type"], line["object"]["metadata"]["name"]) for line in lines] == [
                ("ADDED", f"p{index}") for index in range(4)
            ]
    finally:
        for response in responses:
            response.close()


def test_stopping_the_server_ends_open_watches(tmp_path: Path):
    server = ApiServerThread(ApiServerSettings()).start()
    api = load_api_client(server.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        core = client.CoreV1Api(api)
        response = core.list_namespace(
            watch=True,
            resource_version=core.list_namespace().metadata.resource_version,
            _preload_content=False,
        )
        server.stop()
        assert list(iter_resp_lines(response)) == []
    finally:
        server.stop()
        api.close()


def test_a_watcher_too_far_behind_is_closed():
    async def scenario() -> tuple[bool, bytes | None]:
        watcher = Watcher(PODS, None, LabelSelector(), FieldSelector(), bookmarks=False, max_pending=3)
        for index in range(3):
            watcher.push(b"line %d\n" % index)
        still_open = not watcher.closed
        watcher.push(b"one too many\n")
        return still_open and watcher.closed, await watcher.next_chunk()

    closed, chunk = asyncio.run(scenario())
    assert closed
    assert chunk is None
