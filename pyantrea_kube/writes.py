"""Writes from the event loop: status, labels and annotations, as JSON merge patches.

Each call runs the blocking client in a worker thread and returns the object as the server
stored it. Merge patches need no schema knowledge, so they work the same on every kind.
`None` as a label or annotation value removes it.
NetworkPolicy has no `/status` subresource: pyantrea reports realization with `set_annotations`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pyantrea_kube.resources import Resource
from pyantrea_kube.rest import PatchType, RestClient


async def patch_status(
    rest: RestClient, resource: Resource, namespace: str | None, name: str, status: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge `status` into the object's status through its `/status` subresource."""
    body = {"status": dict(status)}
    return await asyncio.to_thread(
        rest.patch, resource, namespace, name, body, patch_type=PatchType.MERGE, subresource="status"
    )


async def set_labels(
    rest: RestClient, resource: Resource, namespace: str | None, name: str, labels: Mapping[str, str | None]
) -> dict[str, Any]:
    """Set (or, for None, remove) these labels, as `kubectl label` does."""
    body = {"metadata": {"labels": dict(labels)}}
    return await asyncio.to_thread(rest.patch, resource, namespace, name, body, patch_type=PatchType.MERGE)


async def set_annotations(
    rest: RestClient,
    resource: Resource,
    namespace: str | None,
    name: str,
    annotations: Mapping[str, str | None],
) -> dict[str, Any]:
    """Set (or, for None, remove) these annotations, as `kubectl annotate` does."""
    body = {"metadata": {"annotations": dict(annotations)}}
    return await asyncio.to_thread(rest.patch, resource, namespace, name, body, patch_type=PatchType.MERGE)
