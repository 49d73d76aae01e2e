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

A ClusterNetworkPolicy has a status: its realization is written there as conditions
(`kubectl get clusternetworkpolicy NAME -o yaml`) through the `/status` subresource, by
`conditions`: `Realized` (True once every node of its span installed its generation; the
reason is the phase, the message the same words as above) and `FullyEnforced` (False, naming
each part pyantrea does not enforce as written, such as domainNames peers).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes.client import ApiException

from controlplane.metrics import ControllerMetrics
from controlplane.status.board import PolicyKey, PolicyPhase, PolicyStatus, StatusBoard
from pyantrea_kube.events import ObjectRef, event, record_event
from pyantrea_kube.resources import CLUSTER_NETWORK_POLICIES, NETWORK_POLICIES
from pyantrea_kube.rest import RestClient
from pyantrea_kube.writes import patch_status, set_annotations

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


REALIZED_CONDITION = "Realized"
ENFORCED_CONDITION = "FullyEnforced"


Transitions = dict[str, tuple[str, str]]
"""Per condition type, the status last written and when it took that status."""


def conditions(status: PolicyStatus, now: datetime, previous: Transitions) -> list[dict[str, Any]]:
    """A ClusterNetworkPolicy's status conditions (metav1.Condition); a condition keeps its
    `previous` transition time while its status stays the same."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    reason, message = describe(status)
    wanted = [
        (REALIZED_CONDITION, "True" if status.phase is PolicyPhase.REALIZED else "False", reason, message),
        (
            ENFORCED_CONDITION,
            "False" if status.unenforced else "True",
            "NotEnforced" if status.unenforced else "Enforced",
            "; ".join(status.unenforced) or "every rule is enforced as written",
        ),
    ]
    result = []
    for kind, value, why, words in wanted:
        old = previous.get(kind)
        since = old[1] if old is not None and old[0] == value else stamp
        result.append({
            "type": kind, "status": value, "observedGeneration": status.observed_generation,
            "lastTransitionTime": since, "reason": why, "message": words,
        })  # fmt: skip
    return result


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
        self._transitions: dict[PolicyKey, Transitions] = {}

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
                self._transitions.pop(key, None)
            elif self._written.get(key) != status:
                pending.append(status)
        limit = asyncio.Semaphore(_CONCURRENT_WRITES)

        async def write(status: PolicyStatus) -> None:
            async with limit:
                await self._write(status)

        await asyncio.gather(*(write(status) for status in pending))

    async def _write(self, status: PolicyStatus) -> None:
        key = (status.namespace, status.name)
        if not status.namespace:
            await self._write_cluster(key, status)
            return
        annotation = {
            ANNOTATION: json.dumps(status.fields(), sort_keys=True),
            SUMMARY_ANNOTATION: describe(status)[1],
        }
        written = set_annotations(self._rest, NETWORK_POLICIES, status.namespace, status.name, annotation)
        if await self._patched(key, written):
            self._written[key] = status
            await self._record_event(status)

    async def _write_cluster(self, key: PolicyKey, status: PolicyStatus) -> None:
        body = conditions(status, datetime.now(UTC), self._transitions.get(key, {}))
        written = patch_status(self._rest, CLUSTER_NETWORK_POLICIES, None, status.name, {"conditions": body})
        if await self._patched(key, written):
            self._written[key] = status
            self._transitions[key] = {c["type"]: (c["status"], c["lastTransitionTime"]) for c in body}

    async def _patched(self, key: PolicyKey, write: Awaitable[object]) -> bool:
        """Whether `write` went through; a policy deleted meanwhile (404) is no failure, any
        other refusal is kept for a retry."""
        try:
            await write
        except ApiException as error:
            if error.status != 404:
                self._failed(key, f"API error {error.status} {error.reason}")
            return False
        except (urllib3.exceptions.HTTPError, OSError) as error:
            self._failed(key, f"{type(error).__name__}: {error}")
            return False
        return True

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
        kind, shown = ("NetworkPolicy", "/".join(key)) if key[0] else ("ClusterNetworkPolicy", key[1])
        log.error("writing the status of %s %s failed: %s; retrying", kind, shown, reason)
        self._metrics.sync_errors.labels(target="networkpolicy-status").inc()
        self._retry.add(key)
