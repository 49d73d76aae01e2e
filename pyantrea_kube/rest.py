"""Raw-JSON REST calls over the official client's `ApiClient` (blocking; run it in a thread).

The `kubernetes` client's generated methods deserialize every response into pydantic models,
which costs far more than the request for large lists and busy watches. This module keeps what
the client does well (kubeconfig and in-cluster auth, TLS, token refresh, connection pooling)
by building requests with `ApiClient.param_serialize` and sending them with
`ApiClient.call_api`, and reads plain JSON back. Non-2xx answers raise the client's own
`ApiException` subclasses, as the generated methods do.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec
import urllib3
from kubernetes.client import ApiClient, ApiException

from pyantrea_kube.listdecode import ListPage, decode_list
from pyantrea_kube.resources import Resource

_AUTH = ["BearerToken"]


class PatchType(StrEnum):
    """PATCH bodies by their Content-Type."""

    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    JSON = "application/json-patch+json"
    APPLY = "application/apply-patch+yaml"
    """Server-side apply: the body is the caller's whole intent (JSON is YAML); needs a field manager."""


class StreamError(Exception):
    """A watch stream broke mid-way: cut connection or a line that is not JSON."""


@dataclass(frozen=True, slots=True)
class ObjectList:
    """A list response: the raw items and the resourceVersion to watch from."""

    items: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (then `object` is a Status)."""

    type: str
    object: dict[str, Any]


class WatchStream:
    """An open watch response, iterated line by line; `shutdown()` may be called from another thread."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def __iter__(self) -> Iterator[WatchEvent]:
        buffer = b""
        try:
            while True:
                chunk = self._response.read1(65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _decode_event(line)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise StreamError(f"watch stream broken: {exc}") from exc
        if buffer.strip():
            raise StreamError("watch stream ended in the middle of an event")

    def shutdown(self) -> None:
        """Unblock a reader in another thread: its read returns end-of-stream."""
        try:
            self._response.shutdown()
        except (ValueError, RuntimeError, OSError):
            # Already released or closed: the reader is not blocked on this socket any more.
            return

    def close(self) -> None:
        self._response.close()
        self._response.release_conn()


def _decode_event(line: bytes) -> WatchEvent:
    try:
        event = json.loads(line)
        return WatchEvent(event["type"], event["object"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StreamError(f"watch stream sent something that is not an event: {line[:200]!r}") from exc


LIST_PAGE_SIZE = 500
"""Objects per list page, as client-go's reflector and pager: a cluster's hundred thousand pods
are never decoded, or held by the API server for one response, at once."""


class RestClient:
    """Blocking list, watch, get, create, replace, patch and delete on raw JSON objects."""

    def __init__(self, api_client: ApiClient, *, timeout: float = 30.0) -> None:
        self._api = api_client
        self._timeout = timeout

    def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        query = _selectors(label_selector, field_selector)
        document = self._call("GET", resource.collection_path(namespace), query)
        return ObjectList(document.get("items") or [], document["metadata"]["resourceVersion"])

    def list_pages(
        self,
        resource: Resource,
        *,
        page_size: int | None = None,
        item_fields: type[msgspec.Struct] | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[ListPage]:
        """The list in pages of at most `page_size` items (limit and continue, as client-go's
        pager), so only one page is ever decoded at once; with `item_fields`, items keep only
        those fields (`kube.listdecode`). The last page carries the resourceVersion to watch from."""
        path = resource.collection_path(namespace)
        query = _selectors(label_selector, field_selector)
        if page_size is not None:
            query.append(("limit", str(page_size)))
        token: str | None = None
        while True:
            page_query = query if token is None else [*query, ("continue", token)]
            page = decode_list(self._send("GET", path, page_query).read(), item_fields)
            yield page
            token = page.continue_token
            if token is None:
                return

    def watch(
        self,
        resource: Resource,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> WatchStream:
        """Watch from `resource_version` with bookmarks; the server ends it after `timeout_seconds`."""
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(timeout_seconds)),
            *_selectors(label_selector, field_selector),
        ]
        # A read timeout beyond the server's own end of the watch catches half-open connections.
        response = self._send(
            "GET",
            resource.collection_path(namespace),
            query,
            timeout=(self._timeout, timeout_seconds + self._timeout),
        )
        return WatchStream(response.response)

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        return self._call("GET", resource.object_path(namespace, name))

    def create(self, resource: Resource, namespace: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", resource.collection_path(namespace), body=body)

    def create_subresource(
        self, resource: Resource, namespace: str | None, name: str, subresource: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST to an object's subresource (a ServiceAccount's `token`, a Pod's `binding`, ...)."""
        return self._call("POST", resource.object_path(namespace, name, subresource), body=body)

    def replace(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        return self._call("PUT", resource.object_path(namespace, name, subresource), body=body)

    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any] | list[Any],
        *,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """PATCH; `field_manager` (and `force`, to take over fields others manage) for server-side apply."""
        query = [("fieldManager", field_manager)] if field_manager else []
        if force:
            query.append(("force", "true"))
        return self._call(
            "PATCH",
            resource.object_path(namespace, name, subresource),
            query,
            body=body,
            content_type=patch_type,
        )

    def delete(
        self, resource: Resource, namespace: str | None, name: str, *, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """DELETE, with DeleteOptions (`gracePeriodSeconds`, `preconditions`, ...) as `body` if given."""
        return self._call("DELETE", resource.object_path(namespace, name), body=body)

    def _call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        *,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        response = self._send(method, path, query or [], body=body, content_type=content_type)
        return json.loads(response.read())

    def _send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        *,
        body: Any = None,
        content_type: str = "application/json",
        timeout: tuple[float, float] | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self._api.param_serialize(
            method, path, query_params=query, header_params=headers, body=body, auth_settings=_AUTH
        )
        response = self._api.call_api(*request, _request_timeout=timeout or self._timeout)
        if not 200 <= response.status <= 299:
            data = response.read()
            raise ApiException.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        return response


def _selectors(label_selector: str | None, field_selector: str | None) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    return query
