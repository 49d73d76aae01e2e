"""pyantrea_kube.informer against a real kube-apiserver: sync, live events, re-list after 410 Gone (etcd
compacted while the informer was cut off), a server restart, selectors, and clean shutdown.

Each test runs its own event loop (`asyncio.run`); the control plane runs as processes, which
the test stops and starts through `asyncio.to_thread` so the informer keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from lab.up import free_loopback_port
from pyantrea_kube.config import load_api_client
from pyantrea_kube.informer import Informer, InformerSettings
from pyantrea_kube.objects import Pod, trim_pod
from pyantrea_kube.resources import NAMESPACES, PODS, Resource
from pyantrea_kube.rest import LIST_PAGE_SIZE, RestClient
from tests.kubecluster import LoopbackCluster, wait_for_default_account

FAST = InformerSettings(backoff_initial=0.05, backoff_max=0.2, request_timeout=5.0)
AT_ONCE = {"gracePeriodSeconds": 0}
"""How a kubelet confirms a pod's deletion; none runs here."""


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


def pod(name: str, node: str = "node-1", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "main", "image": "lab", "ports": [{"containerPort": 80}]}],
        },
    }


class Recorder:
    """An InformerHandler that records events and lets a test wait for a condition on them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.synced = 0
        self._changed = asyncio.Event()

    def on_add(self, key: str, obj: Pod) -> None:
        self._record("add", key)

    def on_update(self, key: str, old: Pod, new: Pod) -> None:
        assert old != new
        self._record("update", key)

    def on_delete(self, key: str, obj: Pod) -> None:
        self._record("delete", key)

    def on_synced(self) -> None:
        self.synced += 1
        self._changed.set()

    def _record(self, kind: str, key: str) -> None:
        self.events.append((kind, key))
        self._changed.set()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    async def wait_event(self, kind: str, key: str) -> None:
        await self.wait_for(lambda: (kind, key) in self.events)


class Running:
    """An informer running in a named task of the test's loop; `stop()` cancels and awaits it."""

    def __init__(self, informer: Informer[Any]) -> None:
        self.informer = informer
        self.task = asyncio.create_task(informer.run(), name=f"informer-{informer.name}")

    async def stop(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


@pytest.fixture
def shop(rest: RestClient) -> str:
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    wait_for_default_account(rest, "shop")
    return "shop"


def informer_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("informer-")]


def test_initial_sync_then_live_events(api_client: ApiClient, rest: RestClient, shop: str):
    rest.create(PODS, shop, pod("a", app="web"))
    rest.create(PODS, shop, pod("b", app="db"))

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        assert sorted(recorder.events) == [("add", "shop/a"), ("add", "shop/b")]
        assert recorder.synced == 1
        assert running.informer.get("shop/a") == trim_pod(rest.get(PODS, shop, "a"))

        await asyncio.to_thread(rest.create, PODS, shop, pod("c"))
        await asyncio.to_thread(rest.patch, PODS, shop, "a", {"metadata": {"labels": {"app": "shop"}}})
        await asyncio.to_thread(lambda: rest.delete(PODS, shop, "b", body=AT_ONCE))
        await recorder.wait_event("delete", "shop/b")
        assert recorder.events[2:] == [("add", "shop/c"), ("update", "shop/a"), ("delete", "shop/b")]
        assert set(running.informer.store) == {"shop/a", "shop/c"}
        assert running.informer.store["shop/a"].labels == {"app": "shop"}
        await running.stop()

    run(scenario())
    assert informer_threads() == []


def test_changes_outside_the_trimmed_fields_are_not_reported(
    api_client: ApiClient, rest: RestClient, shop: str
):
    rest.create(PODS, shop, pod("a"))

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        await asyncio.to_thread(rest.patch, PODS, shop, "a", {"metadata": {"annotations": {"note": "x"}}})
        await asyncio.to_thread(
            rest.patch, PODS, shop, "a", {"status": {"podIP": "172.16.0.9"}}, subresource="status"
        )
        await recorder.wait_event("update", "shop/a")
        assert recorder.events == [("add", "shop/a"), ("update", "shop/a")]
        assert running.informer.store["shop/a"].pod_ips == ("172.16.0.9",)
        await running.stop()

    run(scenario())


def test_field_selector_narrows_to_one_node(api_client: ApiClient, rest: RestClient, shop: str):
    rest.create(PODS, shop, pod("mine", node="node-1"))
    rest.create(PODS, shop, pod("theirs", node="node-2"))

    async def scenario() -> None:
        recorder = Recorder()
        informer = Informer(
            api_client,
            PODS,
            trim_pod,
            handler=recorder,
            field_selector="spec.nodeName=node-1",
            name="pods-node-1",
            settings=FAST,
        )
        running = Running(informer)
        await informer.wait_synced()
        await asyncio.to_thread(rest.create, PODS, shop, pod("theirs-too", node="node-2"))
        await asyncio.to_thread(rest.create, PODS, shop, pod("mine-too", node="node-1"))
        await recorder.wait_event("add", "shop/mine-too")
        assert recorder.events == [("add", "shop/mine"), ("add", "shop/mine-too")]
        await running.stop()

    run(scenario())


def test_object_leaving_a_label_selector_is_deleted(api_client: ApiClient, rest: RestClient, shop: str):
    rest.create(PODS, shop, pod("a", app="web"))

    async def scenario() -> None:
        recorder = Recorder()
        informer = Informer(
            api_client, PODS, trim_pod, handler=recorder, label_selector="app=web", settings=FAST
        )
        running = Running(informer)
        await informer.wait_synced()
        await asyncio.to_thread(rest.patch, PODS, shop, "a", {"metadata": {"labels": {"app": "db"}}})
        await recorder.wait_event("delete", "shop/a")
        await asyncio.to_thread(rest.patch, PODS, shop, "a", {"metadata": {"labels": {"app": "web"}}})
        await recorder.wait_for(lambda: recorder.events.count(("add", "shop/a")) == 2)
        assert recorder.events == [("add", "shop/a"), ("delete", "shop/a"), ("add", "shop/a")]
        await running.stop()

    run(scenario())


def test_relist_after_its_server_was_down_reports_what_changed_meanwhile(
    api_client: ApiClient, rest: RestClient, shop: str, kubernetes: LoopbackCluster, tmp_path: Path, caplog
):
    """While the informer is cut off (its API server down), another API server of the cluster
    takes changes and etcd compacts its history past them: once its server is back the informer
    re-lists, and the deletes that happened meanwhile surface as deletes."""
    for name in ("keep", "change", "remove"):
        rest.create(PODS, shop, pod(name))
    caplog.set_level(logging.INFO, logger="pyantrea_kube.informer")

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()

        # Cut the informer off: its API server stops; another one, on the same etcd, works.
        await asyncio.to_thread(kubernetes.stop_apiserver)
        port = await asyncio.to_thread(
            kubernetes.start_apiserver, "kube-apiserver-2", port=free_loopback_port()
        )
        other = load_api_client(kubernetes.kubeconfig_for(tmp_path / "elsewhere", port=port))
        try:
            other_rest = RestClient(other)
            await asyncio.to_thread(lambda: other_rest.delete(PODS, shop, "remove", body=AT_ONCE))
            await asyncio.to_thread(
                other_rest.patch, PODS, shop, "change", {"metadata": {"labels": {"v": "2"}}}
            )
            await asyncio.to_thread(other_rest.create, PODS, shop, pod("new"))
        finally:
            other.close()
            await asyncio.to_thread(kubernetes.stop_apiserver, "kube-apiserver-2")
        await asyncio.to_thread(kubernetes.compact_etcd)

        # Back on the informer's port (its resourceVersion is compacted away, too).
        await asyncio.to_thread(kubernetes.start_apiserver)
        await recorder.wait_event("delete", "shop/remove")
        await recorder.wait_for(lambda: ("add", "shop/new") in recorder.events)
        await recorder.wait_for(lambda: ("update", "shop/change") in recorder.events)
        assert set(running.informer.store) == {"shop/keep", "shop/change", "shop/new"}
        assert running.informer.store["shop/change"].labels == {"v": "2"}
        assert ("update", "shop/keep") not in recorder.events
        assert recorder.synced == 1
        await running.stop()

    run(scenario())
    assert "re-listing" in caplog.text


def test_a_watch_from_a_compacted_resource_version_gets_410_and_relists(
    rest: RestClient, shop: str, kubernetes: LoopbackCluster, tmp_path: Path, caplog
):
    """An informer on an API server without a watch cache (its watches read etcd) resumes each
    short watch from its resourceVersion; once etcd has compacted past it the server answers
    410 Gone, and the informer re-lists at once, making up no event, and watches on."""
    rest.create(PODS, shop, pod("watched", app="watched"))
    port = kubernetes.start_apiserver(
        "kube-apiserver-nocache", port=free_loopback_port(), extra=["--watch-cache=false"]
    )
    direct = load_api_client(kubernetes.kubeconfig_for(tmp_path / "direct", port=port))
    caplog.set_level(logging.INFO, logger="pyantrea_kube.informer")
    short = InformerSettings(
        min_watch_seconds=1, max_watch_seconds=1, backoff_initial=0.05, backoff_max=0.2, request_timeout=5.0
    )

    async def scenario() -> None:
        recorder = Recorder()
        informer = Informer(
            direct, PODS, trim_pod, handler=recorder, label_selector="app=watched", settings=short
        )
        running = Running(informer)
        await informer.wait_synced()
        for index in range(3):  # history the informer does not watch, then compacted
            await asyncio.to_thread(rest.create, PODS, shop, pod(f"other{index}"))
        await asyncio.to_thread(kubernetes.compact_etcd)
        while "410" not in caplog.text and "too old" not in caplog.text:
            await asyncio.sleep(0.1)
        await asyncio.to_thread(rest.create, PODS, shop, pod("later", app="watched"))
        await recorder.wait_event("add", f"{shop}/later")
        assert recorder.events == [("add", f"{shop}/watched"), ("add", f"{shop}/later")]
        await running.stop()

    try:
        run(scenario())
    finally:
        direct.close()
    assert "re-listing" in caplog.text


def test_a_restarted_server_loses_nothing(
    api_client: ApiClient, rest: RestClient, shop: str, kubernetes: LoopbackCluster
):
    """The informer rides out its API server's restart: what it knew stays, no event is made up,
    and what happens after the restart arrives."""
    rest.create(PODS, shop, pod("before"))

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        await asyncio.to_thread(kubernetes.stop_apiserver)
        await asyncio.to_thread(kubernetes.start_apiserver)
        await asyncio.to_thread(rest.create, PODS, shop, pod("after"))
        await recorder.wait_event("add", "shop/after")
        assert recorder.events == [("add", "shop/before"), ("add", "shop/after")]
        await running.stop()

    run(scenario())


def test_many_informers_share_one_client(api_client: ApiClient, rest: RestClient, shop: str):
    """Like the agents of a lab: one informer per node, each with its node's field selector."""
    nodes = [f"node-{i}" for i in range(8)]

    async def scenario() -> None:
        recorders = {node: Recorder() for node in nodes}
        running = [
            Running(
                Informer(
                    api_client,
                    PODS,
                    trim_pod,
                    handler=recorders[node],
                    field_selector=f"spec.nodeName={node}",
                    name=f"pods-{node}",
                    settings=FAST,
                )
            )
            for node in nodes
        ]
        await asyncio.gather(*(r.informer.wait_synced() for r in running))
        for node in nodes:
            for index in range(3):
                await asyncio.to_thread(rest.create, PODS, shop, pod(f"{node}-pod-{index}", node=node))
        for node in nodes:
            await recorders[node].wait_for(lambda node=node: len(recorders[node].events) == 3)
            assert {key for _, key in recorders[node].events} == {f"shop/{node}-pod-{i}" for i in range(3)}
        for r in running:
            await r.stop()

    run(scenario())
    assert informer_threads() == []


def test_untrimmable_object_is_ignored_and_others_kept(api_client: ApiClient, rest: RestClient, shop: str):
    rest.create(PODS, shop, pod("good"))
    rest.create(PODS, shop, pod("bad", quality="bad"))

    def picky_trim(obj: dict[str, Any]) -> Pod:
        if obj["metadata"].get("labels", {}).get("quality") == "bad":
            raise ValueError("this pod has a bad label")
        return trim_pod(obj)

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, picky_trim, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        assert set(running.informer.store) == {"shop/good"}
        await asyncio.to_thread(rest.patch, PODS, shop, "good", {"metadata": {"labels": {"quality": "bad"}}})
        await recorder.wait_event("delete", "shop/good")
        await asyncio.to_thread(rest.patch, PODS, shop, "bad", {"metadata": {"labels": {"quality": None}}})
        await recorder.wait_event("add", "shop/bad")
        await running.stop()

    run(scenario())


def test_a_failing_handler_ends_run(api_client: ApiClient, rest: RestClient, shop: str):
    rest.create(PODS, shop, pod("a"))

    class Broken(Recorder):
        def on_add(self, key: str, obj: Pod) -> None:
            raise RuntimeError(f"cannot handle {key}")

    async def scenario() -> None:
        informer = Informer(api_client, PODS, trim_pod, handler=Broken(), settings=FAST)
        with pytest.raises(RuntimeError, match="cannot handle shop/a"):
            await informer.run()

    run(scenario())
    assert informer_threads() == []


def test_a_failing_trim_function_ends_run(api_client: ApiClient, rest: RestClient, shop: str):
    rest.create(PODS, shop, pod("a"))

    def buggy_trim(obj: dict[str, Any]) -> Pod:
        return obj["no such field"]

    async def scenario() -> None:
        with pytest.raises(KeyError, match="no such field"):
            await Informer(api_client, PODS, buggy_trim, settings=FAST).run()

    run(scenario())
    assert informer_threads() == []


def test_cancel_while_the_server_is_down(api_client: ApiClient, kubernetes: LoopbackCluster):
    async def scenario() -> None:
        running = Running(
            Informer(api_client, NAMESPACES, lambda obj: obj["metadata"]["name"], settings=FAST)
        )
        await running.informer.wait_synced()
        await asyncio.to_thread(kubernetes.stop_apiserver)
        await asyncio.sleep(0.3)  # let it fail and back off at least once
        await running.stop()

    run(scenario())
    assert informer_threads() == []


CONFIG_MAPS = Resource("", "v1", "configmaps", namespaced=True)


def test_a_list_longer_than_a_page_comes_in_pages(
    api_client: ApiClient, rest: RestClient, shop: str, kubernetes: LoopbackCluster
):
    """With its default settings (the agent's and the lab kubelet's) the informer lists in pages
    of LIST_PAGE_SIZE, following `continue`, and watches on from the last page."""
    names = [f"cm-{index:04d}" for index in range(LIST_PAGE_SIZE + 20)]
    for name in names:
        rest.create(CONFIG_MAPS, shop, {"metadata": {"name": name}, "data": {"name": name}})

    async def scenario() -> None:
        recorder = Recorder()
        informer = Informer(
            api_client, CONFIG_MAPS, lambda obj: obj["metadata"]["name"], handler=recorder, namespace=shop
        )
        running = Running(informer)
        await informer.wait_synced()
        assert {key for key in informer.store if "/cm-" in key} == {f"{shop}/{name}" for name in names}
        await asyncio.to_thread(rest.create, CONFIG_MAPS, shop, {"metadata": {"name": "after"}})
        await recorder.wait_event("add", f"{shop}/after")
        await running.stop()

    run(scenario())
    lists = [
        event["requestURI"]
        for event in map(json.loads, kubernetes.plane.audit_log.read_text().splitlines())
        if event["verb"] == "list"
        and event.get("objectRef", {}).get("resource") == "configmaps"
        and event["objectRef"].get("namespace") == shop
        and event["stage"] == "ResponseComplete"
    ]
    assert len(lists) == 2, lists
    assert f"limit={LIST_PAGE_SIZE}" in lists[0] and "continue=" not in lists[0]
    assert f"limit={LIST_PAGE_SIZE}" in lists[1] and "continue=" in lists[1]


def test_a_server_replaced_by_an_empty_one_reports_every_deletion(
    api_client: ApiClient, rest: RestClient, shop: str, kubernetes: LoopbackCluster, caplog
):
    """etcd is wiped and a fresh API server starts on it at the same address. The informer's
    resourceVersion is one the new server never had (ahead of all it has): the informer must not
    wait on it, but re-list, report that every object it held is gone, and go on watching."""
    names = [f"p{index}" for index in range(5)]
    for name in names:
        rest.create(PODS, shop, pod(name))
    for index in range(300):  # history the new server will not have
        rest.patch(PODS, shop, names[0], {"metadata": {"annotations": {"n": str(index)}}})
    caplog.set_level(logging.INFO, logger="pyantrea_kube.informer")

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        held = await asyncio.to_thread(lambda: int(rest.list(PODS).resource_version))

        await asyncio.to_thread(kubernetes.replace_with_empty)
        for name in names:
            await recorder.wait_event("delete", f"{shop}/{name}")
        assert not any(key.startswith(f"{shop}/") for key in running.informer.store)
        fresh = await asyncio.to_thread(lambda: int(rest.list(PODS).resource_version))
        assert fresh < held, "the new server reached the old resourceVersion: the test proves nothing"

        await asyncio.to_thread(rest.create, NAMESPACES, None, {"metadata": {"name": shop}})
        await asyncio.to_thread(wait_for_default_account, rest, shop)
        await asyncio.to_thread(rest.create, PODS, shop, pod("after"))
        await recorder.wait_event("add", f"{shop}/after")
        assert recorder.synced == 1
        await running.stop()

    run(scenario())
    assert "re-listing" in caplog.text
