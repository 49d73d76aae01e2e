"""Events, as `kubectl describe` shows them under an object: core/v1 Events that name the object
(kind, namespace, name and uid) they are about."""

from __future__ import annotations

import asyncio
import datetime
import secrets
from dataclasses import dataclass
from typing import Any

from pyantrea_kube.resources import EVENTS
from pyantrea_kube.rest import RestClient


@dataclass(frozen=True, slots=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str


def event(
    regarding: ObjectRef, *, reason: str, message: str, warning: bool, component: str
) -> dict[str, Any]:
    """A new core/v1 Event about `regarding`, reported by `component`."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{regarding.name}.{secrets.token_hex(8)}", "namespace": regarding.namespace},
        "involvedObject": {
            "apiVersion": regarding.api_version,
            "kind": regarding.kind,
            "namespace": regarding.namespace,
            "name": regarding.name,
            "uid": regarding.uid,
        },
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "source": {"component": component},
        "reportingComponent": component,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def record_event(rest: RestClient, body: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(rest.create, EVENTS, body["metadata"]["namespace"], body)
