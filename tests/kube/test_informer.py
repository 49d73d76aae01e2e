"""kube.informer against the lab's API stand-in: sync, live events, re-list after 410 Gone, a
server restart, a server replaced by an empty one, selectors, and clean shutdown.

Each test runs its own event loop (`asyncio.run`); the server runs in its own thread, and the
test restarts it through `asyncio.to_thread` so the informer keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from kube.config import load_api_client
from kube.informer import Informer, InformerSettings
from kube.objects import Pod, trim_pod
from kube.resources import NAMESPACES, PODS
from kube.rest import RestClient
from lab.apiserver import ApiServer, ApiServerSettings, ApiServerThread
from lab.apiserver.kubeconfig import write_kubeconfig

FAST = InformerSettings(backoff_initial=0.05, backoff_max=0.2, request_timeout=5.0)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


def pod(name: str, node: str = "node-1", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "main", "ports": [{"containerPort": 80}]}]},
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
        await asyncio.to_thread(rest.delete, PODS, shop, "b")
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


def test_relist_after_410_gone_reports_what_changed_meanwhile(
    api_client: ApiClient, rest: RestClient, shop: str, apiserver: ApiServerThread, tmp_path: Path, caplog
):
    """While the informer is cut off, the server moves on past its watch history: the informer's
    watch gets 410 Gone, it re-lists, and deletes that happened meanwhile surface as deletes."""
    for name in ("keep", "change", "remove"):
        rest.create(PODS, shop, pod(name))
    port = apiserver.port
    state = apiserver.settings.state_file
    caplog.set_level(logging.INFO, logger="kube.informer")

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()

        # Cut the informer off: the same state served on another port, where a second client works.
        await asyncio.to_thread(apiserver.stop)
        elsewhere = ApiServerThread(ApiServerSettings(state_file=state))
        await asyncio.to_thread(elsewhere.start)
        other = load_api_client(elsewhere.write_kubeconfig(tmp_path / "elsewhere"))
        try:
            other_rest = RestClient(other)
            await asyncio.to_thread(other_rest.delete, PODS, shop, "remove")
            await asyncio.to_thread(
                other_rest.patch, PODS, shop, "change", {"metadata": {"labels": {"v": "2"}}}
            )
            await asyncio.to_thread(other_rest.create, PODS, shop, pod("new"))
        finally:
            other.close()
            await asyncio.to_thread(elsewhere.stop)

        # Back on the informer's port; a restarted server keeps no history, so its old rv is Gone.
        back = ApiServerThread(ApiServerSettings(port=port, state_file=state))
        await asyncio.to_thread(back.start)
        try:
            await recorder.wait_event("delete", "shop/remove")
            await recorder.wait_for(lambda: ("add", "shop/new") in recorder.events)
            await recorder.wait_for(lambda: ("update", "shop/change") in recorder.events)
            assert set(running.informer.store) == {"shop/keep", "shop/change", "shop/new"}
            assert running.informer.store["shop/change"].labels == {"v": "2"}
            assert ("update", "shop/keep") not in recorder.events
            assert recorder.synced == 1
            await running.stop()
        finally:
            await asyncio.to_thread(back.stop)

    run(scenario())
    assert "too old resource version" in caplog.text


def test_broken_stream_resumes_after_a_server_restart(
    api_client: ApiClient, rest: RestClient, shop: str, apiserver: ApiServerThread, caplog
):
    """The restarted server has the same objects at the same resourceVersion: the informer
    resumes its watch where it was, without a re-list."""
    rest.create(PODS, shop, pod("before"))
    caplog.set_level(logging.INFO, logger="kube.informer")
    settings = ApiServerSettings(port=apiserver.port, state_file=apiserver.settings.state_file)

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        await asyncio.to_thread(apiserver.stop)
        restarted = ApiServerThread(settings)
        await asyncio.to_thread(restarted.start)
        try:
            await asyncio.to_thread(rest.create, PODS, shop, pod("after"))
            await recorder.wait_event("add", "shop/after")
            assert recorder.events == [("add", "shop/before"), ("add", "shop/after")]
            await running.stop()
        finally:
            await asyncio.to_thread(restarted.stop)

    run(scenario())
    assert "re-listing" not in caplog.text


def test_server_replaced_by_an_empty_one(
    api_client: ApiClient, rest: RestClient, shop: str, apiserver: ApiServerThread, caplog
):
    """A fresh server's resourceVersions are behind the informer's ("too large"): it re-lists and
    everything it knew is deleted."""
    rest.create(PODS, shop, pod("a"))
    rest.create(PODS, shop, pod("b"))
    caplog.set_level(logging.WARNING, logger="kube.informer")

    async def scenario() -> None:
        recorder = Recorder()
        running = Running(Informer(api_client, PODS, trim_pod, handler=recorder, settings=FAST))
        await running.informer.wait_synced()
        await asyncio.to_thread(apiserver.stop)
        empty = ApiServerThread(ApiServerSettings(port=apiserver.port))
        await asyncio.to_thread(empty.start)
        try:
            await recorder.wait_for(lambda: not running.informer.store)
            assert sorted(recorder.events[2:]) == [("delete", "shop/a"), ("delete", "shop/b")]
            await running.stop()
        finally:
            await asyncio.to_thread(empty.stop)

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


def test_cancel_while_the_server_is_down(api_client: ApiClient, apiserver: ApiServerThread):
    async def scenario() -> None:
        running = Running(
            Informer(api_client, NAMESPACES, lambda obj: obj["metadata"]["name"], settings=FAST)
        )
        await running.informer.wait_synced()
        await asyncio.to_thread(apiserver.stop)
        await asyncio.sleep(0.3)  # let it fail and back off at least once
        await running.stop()

    run(scenario())
    assert informer_threads() == []


def test_server_and_informer_on_one_loop(tmp_path: Path):
    """The stand-in can also run on the test's own loop: the informer's blocking client is in its
    worker thread, so both share the loop without blocking each other."""

    async def scenario() -> None:
        server = ApiServer(ApiServerSettings())
        await server.start()
        api = load_api_client(write_kubeconfig(tmp_path / "kubeconfig", server.url))
        try:
            recorder = Recorder()
            running = Running(
                Informer(api, NAMESPACES, lambda obj: obj["metadata"]["name"], handler=recorder)
            )
            await running.informer.wait_synced()
            await asyncio.to_thread(RestClient(api).create, NAMESPACES, None, {"metadata": {"name": "shop"}})
            await recorder.wait_event("add", "shop")
            assert set(running.informer.store) == {
                "default",
                "kube-system",
                "kube-public",
                "kube-node-lease",
                "shop",
            }
            await running.stop()
        finally:
            api.close()
            await server.stop()

    run(scenario())
