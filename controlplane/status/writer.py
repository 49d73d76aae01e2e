"""Writing NetworkPolicy realization status to the Kubernetes API, coalesced and rate-limited.

Every `interval` the writer takes the policies whose status may have changed and writes those
that differ from what it last wrote, a few at a time: to the `/status` subresource
(`statusWriteMode: status`) or as the `pyantrea.io/realization` annotation holding the same
fields as JSON (`annotation`, for API servers without a NetworkPolicy status). A burst of
reports thus costs one write per policy per interval. A failed write is counted, logged and
tried again at the next interval; a policy deleted meanwhile is skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging

import urllib3
from kubernetes.client import ApiException

from config.controller import StatusWriteMode
from controlplane.metrics import ControllerMetrics
from controlplane.status.board import PolicyKey, PolicyStatus, StatusBoard
from kube.resources import NETWORK_POLICIES
from kube.rest import RestClient
from kube.writes import patch_status, set_annotations

log = logging.getLogger(__name__)

ANNOTATION = "pyantrea.io/realization"
_CONCURRENT_WRITES = 4


class StatusWriter:
    """Writes the board's changed statuses every `interval` seconds (`run` until cancelled)."""

    def __init__(
        self,
        board: StatusBoard,
        rest: RestClient,
        *,
        mode: StatusWriteMode,
        metrics: ControllerMetrics,
        interval: float = 1.0,
    ) -> None:
        self._board = board
        self._rest = rest
        self._mode = mode
        self._metrics = metrics
        self._interval = interval
        self._written: dict[PolicyKey, PolicyStatus] = {}
        self._retry: set[PolicyKey] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        """Write every changed status now."""
        dirty = self._board.take_dirty()
        for key in self._retry - dirty.keys():
            dirty[key] = self._board.status(key)
        self._retry = set()
        pending = []
        for key, status in dirty.items():
            if status is None:
                self._written.pop(key, None)
            elif self._written.get(key) != status:
                pending.append(status)
        limit = asyncio.Semaphore(_CONCURRENT_WRITES)

        async def write(status: PolicyStatus) -> None:
            async with limit:
                await self._write(status)

        await asyncio.gather(*(write(status) for status in pending))

    async def _write(self, status: PolicyStatus) -> None:
        key = (status.namespace, status.name)
        fields = status.fields()
        try:
            if self._mode is StatusWriteMode.STATUS:
                # In a merge patch null deletes: an empty message leaves no stale one behind.
                body = {**fields, "message": status.message or None}
                await patch_status(self._rest, NETWORK_POLICIES, status.namespace, status.name, body)
            else:
                annotation = {ANNOTATION: json.dumps(fields, sort_keys=True)}
                await set_annotations(self._rest, NETWORK_POLICIES, status.namespace, status.name, annotation)
        except ApiException as error:
            if error.status == 404:
                return
            self._failed(key, f"API error {error.status} {error.reason}")
            return
        except (urllib3.exceptions.HTTPError, OSError) as error:
            self._failed(key, f"{type(error).__name__}: {error}")
            return
        self._written[key] = status

    def _failed(self, key: PolicyKey, reason: str) -> None:
        log.error("writing the status of NetworkPolicy %s/%s failed: %s; retrying", *key, reason)
        self._metrics.sync_errors.labels(target="networkpolicy-status").inc()
        self._retry.add(key)
