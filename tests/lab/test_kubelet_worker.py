"""The lab kubelet's pod worker ends a deleted pod even when the API server said "gone" (404)
while it still held the pod: an API server just restarted after a kill -9 did that during a soak,
and the pod stayed Terminating for good because the worker waited for an event that never came."""

from __future__ import annotations

import asyncio

from lab.kubelet import worker as worker_module
from lab.kubelet.pods import PodView
from lab.kubelet.worker import PodWorker, WorkerContext


def test_a_deletion_the_api_server_wrongly_called_done_is_confirmed_again(monkeypatch):
    monkeypatch.setattr(worker_module, "_RECHECK_SECONDS", 0.05)
    pod = PodView("ns", "p", "uid-1", host_network=False, containers=(), deleting=True)
    held = {"ns/p": pod}
    confirmations: list[str] = []

    async def confirm(view: PodView) -> bool:
        confirmations.append(view.uid)
        if len(confirmations) == 2:  # the second time the API server really deletes it
            del held[view.key]
        return True  # the first time: a 404 from a server that still holds the pod

    async def write_status(view: PodView, status: dict) -> bool:
        raise AssertionError("a deleted pod's status is not written")

    context = WorkerContext(
        sandboxes=None,  # the pod has no sandbox here: nothing to tear down
        host_ip="192.168.77.1",
        desired=held.get,
        write_status=write_status,
        confirm_deletion=confirm,
    )
    asyncio.run(asyncio.wait_for(PodWorker("ns/p", context).run(), 5))
    assert confirmations == ["uid-1", "uid-1"]
