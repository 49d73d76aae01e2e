"""Writing NetworkPolicy realization to the Kubernetes API, coalesced and rate-limited.

Kubernetes' NetworkPolicy has no status, so realization goes where a user of a cluster looks:
`kubectl describe networkpolicy` prints the policy's annotations, where `pyantrea.io/realized`
says it in words ("Realized on 3/3 nodes (generation 2)", or why it failed) and
`pyantrea.io/realization` holds the status fields as JSON for tools (`pyantctl lab apply
--wait`); and an Event on the policy records each change (`kubectl events --for
networkpolicy/NAME`). Every `interval` the writer takes
the policies whose status may have changed and writes those that differ from what it last
wrote, a few at a time; a burst of reports thus costs one write per policy per interval. A
failed write is counted, logged and tried again at the next interval; a policy deleted
meanwhile is skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging

import urllib3
from kubernetes.client import ApiException

from controlplane.metrics import ControllerMetrics
from controlplane.status.board import PolicyKey, PolicyPhase, PolicyStatus, StatusBoard
from pyantrea_kube.events import ObjectRef, event, record_event
from pyantrea_kube.resources import NETWORK_POLICIES
from pyantrea_kube.rest import RestClient
from pyantrea_kube.writes import set_annotations

log = logging.getLogger(__name__)

ANNOTATION = "pyantrea.io/realization"
SUMMARY_ANNOTATION = "pyantrea.io/realized"
COMPONENT = "pyantrea-controller"
_CONCURRENT_WRITES = 4


def describe(status: PolicyStatus) -> tuple[str, str]:
    """The Event's reason and message for a status, as `kubectl describe` shows them."""
    nodes = f"{status.current_nodes_realized}/{status.desired_nodes_realized} nodes"
    if status.phase is PolicyPhase.FAILED:
        return "Failed", f"Failed on {nodes} realized: {status.message}"
    if status.phase is PolicyPhase.REALIZED:
        return "Realized", f"Realized on {nodes} (generation {status.observed_generation})"
    return (
        status.phase.value,
        f"{status.phase.value}: {nodes} realized (generation {status.observed_generation})",
    )


class StatusWriter:
    """Writes the board's changed statuses every `interval` seconds (`run` until cancelled)."""

    def __init__(
        self,
        board: StatusBoard,
        rest: RestClient,
        *,
        metrics: ControllerMetrics,
        interval: float = 1.0,
    ) -> None:
        self._board = board
        self._rest = rest
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
        try:
            annotation = {
                ANNOTATION: json.dumps(status.fields(), sort_keys=True),
                SUMMARY_ANNOTATION: describe(status)[1],
            }
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
        await self._record_event(status)

    async def _record_event(self, status: PolicyStatus) -> None:
        """Best effort, as a kubelet's events: a lost Event is logged and counted, not retried."""
        reason, message = describe(status)
        regarding = ObjectRef(
            "networking.k8s.io/v1", "NetworkPolicy", status.namespace, status.name, status.uid
        )
        body = event(
            regarding,
            reason=reason,
            message=message,
            warning=status.phase is PolicyPhase.FAILED,
            component=COMPONENT,
        )
        try:
            await record_event(self._rest, body)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            log.warning(
                "no Event for NetworkPolicy %s/%s (%s): %s", status.namespace, status.name, message, error
            )
            self._metrics.sync_errors.labels(target="networkpolicy-event").inc()

    def _failed(self, key: PolicyKey, reason: str) -> None:
        log.error("writing the status of NetworkPolicy %s/%s failed: %s; retrying", *key, reason)
        self._metrics.sync_errors.labels(target="networkpolicy-status").inc()
        self._retry.add(key)
