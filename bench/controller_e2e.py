"""The controller's initial computation end to end, as Antrea's `TestInitXLargeScale*` times it:
from informer start, through listing and decoding, the informer caches, the computation and the
store, until every node's view of every event is ready (what the server hands its watchers).

It runs the controller's own parts (`ClusterInformers` on the `kubernetes` client, `Computation`
with the status board and object counter subscribed to the store, as `controlplane.app` wires
them) on uvloop, against an API server at `url`: the stub of `bench.apiserver_stub` in the
benchmarks, or the real kube-apiserver through a kubeconfig (`bench/test_controlplane_e2e.py`).
It is meant to run in a fresh process (`bench.isolated`), so its peak RSS is the controller's
alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import uvloop
from kubernetes.client import ApiClient, Configuration

from controlplane import gcsettings
from controlplane.computation import Computation
from controlplane.informers import ClusterInformers
from controlplane.inventory import ObjectCounter
from controlplane.metrics import ControllerMetrics
from controlplane.status.board import StatusBoard
from controlplane.store.events import StoreEvent
from pyantrea_daemon.metrics import Metrics
from pyantrea_kube.config import load_api_client


class _Views:
    """A store listener that works out every event's node views, as the dispatcher does."""

    def __init__(self) -> None:
        self.events = 0
        self.node_views = 0

    def on_events(self, events: Sequence[StoreEvent]) -> None:
        self.events += len(events)
        for event in events:
            for _, nodes in event.views():
                self.node_views += len(nodes)


def _api_client(url: str | None, kubeconfig: str | None) -> ApiClient:
    if kubeconfig:
        return load_api_client(kubeconfig)
    configuration = Configuration(host=url)
    configuration.connection_pool_maxsize = 32
    return ApiClient(configuration)


async def _run(api_client: ApiClient) -> dict[str, Any]:
    metrics = ControllerMetrics.declare(Metrics("controller"))
    computation = Computation(metrics=metrics)
    board = StatusBoard()
    views = _Views()
    computation.store.subscribe(board.on_events)
    computation.store.subscribe(ObjectCounter(metrics.objects).on_events)
    computation.store.subscribe(views.on_events)
    start = time.perf_counter()
    cpu_start = time.process_time()
    listed = start
    informers = ClusterInformers(api_client, computation, board)

    async def inputs_synced() -> None:
        nonlocal listed
        await informers.wait_synced()
        listed = time.perf_counter()

    tasks = [asyncio.create_task(informer.run(), name=informer.name) for informer in informers.informers]
    tasks.append(asyncio.create_task(computation.run(inputs_synced), name="computation"))
    try:
        await _first_of(asyncio.create_task(computation.wait_published()), tasks)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "list_seconds": round(listed - start, 3),
        "compute_seconds": round(seconds - (listed - start), 3),
        "events": views.events,
        "node_views": views.node_views,
        "objects": {informer.name: len(informer.store) for informer in informers.informers},
    }


async def _first_of(awaited: asyncio.Task[Any], tasks: list[asyncio.Task[Any]]) -> None:
    """Waits for `awaited`; a controller task ending first (a failure) raises its error."""
    done, _ = await asyncio.wait([awaited, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if awaited not in done:
        awaited.cancel()
        for task in done:
            task.result()
        raise RuntimeError(f"controller tasks ended early: {[t.get_name() for t in done]}")


def measure(url: str | None, kubeconfig: str | None = None) -> dict[str, Any]:
    """The controller's initial computation against the API server at `url` (or `kubeconfig`)."""
    gcsettings.configure()  # as controlplane.main does at start
    api_client = _api_client(url, kubeconfig)
    try:
        return uvloop.run(_run(api_client))
    finally:
        api_client.close()
