"""The Pods bound to this node, listed once from the Kubernetes API for the start-up clean-up.

One list with `fieldSelector=spec.nodeName=<node>` (as Antrea's CNI server does; in pages), not an
informer: the clean-up needs a snapshot, and needs no watch permission. The blocking client runs
in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from kubernetes.client import ApiClient

from pyantrea_kube.objects import Pod, trim_pod
from pyantrea_kube.resources import PODS
from pyantrea_kube.rest import LIST_PAGE_SIZE, RestClient

LIST_TIMEOUT_SECONDS = 10.0


class NodePods(Protocol):
    """The Pods scheduled to this node."""

    async def list(self) -> list[Pod]:
        """Every Pod bound to this node; raises when the list cannot be had whole."""
        ...


class ApiNodePods:
    """`NodePods` from the API server; a Pod it cannot read fails the whole list (raises)."""

    def __init__(self, api_client: ApiClient, node_name: str) -> None:
        self._rest = RestClient(api_client, timeout=LIST_TIMEOUT_SECONDS)
        self._selector = f"spec.nodeName={node_name}"

    async def list(self) -> list[Pod]:
        return await asyncio.to_thread(self._list)

    def _list(self) -> list[Pod]:
        pages = self._rest.list_pages(PODS, page_size=LIST_PAGE_SIZE, field_selector=self._selector)
        return [trim_pod(obj) for page in pages for obj in page.items]
