"""The HTTP surface: Kubernetes REST paths and verbs mapped onto the store.

Paths are parsed by hand rather than by aiohttp route patterns because Kubernetes paths are
ambiguous by shape (`/api/v1/namespaces/x/pods` is a collection, `/api/v1/nodes/x/status` a
subresource). Errors become `Status` bodies; a watch that cannot start (410 Gone, too large a
resourceVersion) is answered as upstream does: 200, then one ERROR event.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lab.apiserver import discovery
from lab.apiserver.audit import RequestObserver, resource_request
from lab.apiserver.errors import ApiError, bad_request
from lab.apiserver.resources import GROUP_VERSIONS, GroupVersion, ResourceType
from lab.apiserver.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from lab.apiserver.store import Store
from lab.apiserver.watch import Stored, dump, error_line

_JSON = "application/json"
_PUBLIC_PATHS = frozenset({"/version", "/version/", "/healthz", "/livez", "/readyz"})


@dataclass(frozen=True, slots=True)
class Target:
    """What a resource path addresses; `name` None means the collection."""

    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_target(gv: GroupVersion, segments: list[str]) -> Target | None:
    """The resource addressed by the path segments after `/api/v1` or `/apis/<group>/<version>`."""
    if len(segments) >= 3 and segments[0] == "namespaces" and segments[2] in gv.resources:
        rtype = gv.resources[segments[2]]
        if not rtype.namespaced or len(segments) > 5:
            return None
        rest = segments[3:]
        namespace: str | None = segments[1]
    elif segments and segments[0] in gv.resources:
        rtype = gv.resources[segments[0]]
        rest = segments[1:]
        namespace = None
        if (rtype.namespaced and rest) or len(rest) > 2:
            return None
    else:
        return None
    name = rest[0] if rest else None
    subresource = rest[1] if len(rest) > 1 else None
    if subresource is not None and (subresource != "status" or not rtype.has_status):
        return None
    return Target(rtype, namespace, name, subresource)


def _json_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=_JSON)


def _error_response(error: ApiError) -> web.Response:
    return _json_response(dump(error.status()), error.code)


def _not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def _flag(query: Any, name: str) -> bool | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    return value.lower() in ("true", "1")


class Routes:
    """aiohttp handlers over one `Store`, with an optional bearer token required on API paths.

    `on_request`, when given, sees every resource request (lab.apiserver.audit) before it is served.
    """

    def __init__(
        self,
        store: Store,
        *,
        token: str | None,
        watch_timeout: float,
        on_request: RequestObserver | None = None,
    ) -> None:
        self._store = store
        self._token = token
        self._watch_timeout = watch_timeout
        self._on_request = on_request

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._authenticate)
        router = app.router
        router.add_get("/version", self._version)
        router.add_get("/version/", self._version)
        for path in ("/healthz", "/livez", "/readyz"):
            router.add_get(path, self._healthy)
        router.add_get("/api", self._core_versions)
        router.add_get("/apis", self._group_list)
        router.add_route("*", "/api/{tail:.*}", self._core)
        router.add_route("*", "/apis/{tail:.*}", self._grouped)
        router.add_route("*", "/{tail:.*}", self._unknown)

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if (
            self._token is not None
            and request.path not in _PUBLIC_PATHS
            and request.headers.get("Authorization", "") != f"Bearer {self._token}"
        ):
            return _error_response(ApiError(401, "Unauthorized", "Unauthorized"))
        try:
            return await handler(request)
        except ApiError as error:
            return _error_response(error)

    async def _unknown(self, _: web.Request) -> web.Response:
        raise _not_found()

    async def _version(self, _: web.Request) -> web.Response:
        return _json_response(dump(discovery.SERVER_VERSION))

    async def _healthy(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _core_versions(self, _: web.Request) -> web.Response:
        return _json_response(dump(discovery.core_versions()))

    async def _group_list(self, _: web.Request) -> web.Response:
        return _json_response(dump(discovery.group_list()))

    async def _core(self, request: web.Request) -> web.StreamResponse:
        segments = [part for part in request.match_info["tail"].split("/") if part]
        if not segments:
            return await self._core_versions(request)
        return await self._resource(request, "", segments[0], segments[1:])

    async def _grouped(self, request: web.Request) -> web.StreamResponse:
        segments = [part for part in request.match_info["tail"].split("/") if part]
        if not segments:
            return await self._group_list(request)
        if len(segments) == 1:
            document = discovery.group(segments[0])
            if document is None:
                raise _not_found()
            return _json_response(dump(document))
        return await self._resource(request, segments[0], segments[1], segments[2:])

    async def _resource(
        self, request: web.Request, group: str, version: str, segments: list[str]
    ) -> web.StreamResponse:
        if self._on_request is not None:
            authorization = request.headers.get("Authorization", "")
            record = resource_request(request.method, group, segments, request.query, authorization)
            if record is not None:
                self._on_request(record)
        gv = GROUP_VERSIONS.get((group, version))
        if gv is None:
            raise _not_found()
        if not segments:
            return _json_response(dump(discovery.resource_list(gv)))
        target = parse_target(gv, segments)
        if target is None:
            raise _not_found()
        if target.name is None:
            return await self._collection(request, target)
        return await self._object(request, target, target.name)

    async def _collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        rtype = target.rtype
        query = request.query
        if request.method == "POST":
            if rtype.namespaced and target.namespace is None:
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            stored = self._store.create(rtype, target.namespace, await _body(request))
            return _json_response(stored.raw, 201)
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), rtype)
        if request.method == "GET":
            if _flag(query, "watch"):
                return await self._watch(request, target, labels, fields)
            rv, items = self._store.list(rtype, target.namespace, labels, fields)
            return _json_response(_list_body(rtype, rv, items))
        if request.method == "DELETE":
            deleted = self._store.delete_collection(rtype, target.namespace, labels, fields)
            return _json_response(_list_body(rtype, self._store.resource_version, deleted))
        raise ApiError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )

    async def _object(self, request: web.Request, target: Target, name: str) -> web.StreamResponse:
        rtype, namespace = target.rtype, target.namespace
        status_only = target.subresource == "status"
        method = request.method
        if method == "GET":
            stored = self._store.get(rtype, namespace, name)
        elif method == "PUT":
            stored = self._store.update(rtype, namespace, name, await _body(request), status_only=status_only)
        elif method == "PATCH":
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            stored = self._store.patch(
                rtype, namespace, name, content_type, await request.read(), status_only=status_only
            )
        elif method == "DELETE" and not status_only:
            stored = self._store.delete(rtype, namespace, name, await _body(request, optional=True))
        else:
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        return _json_response(stored.raw)

    async def _watch(
        self, request: web.Request, target: Target, labels: LabelSelector, fields: FieldSelector
    ) -> web.StreamResponse:
        query = request.query
        bookmarks = bool(_flag(query, "allowWatchBookmarks"))
        send_initial_events = _flag(query, "sendInitialEvents")
        if send_initial_events and query.get("resourceVersionMatch") != "NotOlderThan":
            raise ApiError(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch "
                "to NotOlderThan",
            )
        timeout = _timeout_seconds(query.get("timeoutSeconds"), self._watch_timeout)
        response = web.StreamResponse(headers={"Content-Type": _JSON})
        response.enable_chunked_encoding()
        try:
            watcher = self._store.watch(
                target.rtype,
                target.namespace,
                labels,
                fields,
                resource_version=query.get("resourceVersion"),
                bookmarks=bookmarks,
                send_initial_events=send_initial_events,
            )
        except ApiError as error:
            if error.code not in (410, 504):
                raise
            await response.prepare(request)
            await response.write(error_line(error.status()))
            await response.write_eof()
            return response
        try:
            await response.prepare(request)
            async with asyncio.timeout(timeout):
                while (chunk := await watcher.next_chunk()) is not None:
                    await response.write(chunk)
        except TimeoutError:
            pass
        except ConnectionResetError:
            return response
        finally:
            self._store.unwatch(watcher)
        await response.write_eof()
        return response


async def _body(request: web.Request, *, optional: bool = False) -> Any:
    raw = await request.read()
    if optional and not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from exc


def _list_body(rtype: ResourceType, rv: int, items: list[Stored]) -> bytes:
    head = dump(
        {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": {"resourceVersion": str(rv)}}
    )
    return head[:-1] + b',"items":[' + b",".join(stored.raw for stored in items) + b"]}"


def _timeout_seconds(text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"invalid timeoutSeconds: {text!r}") from None
    return float(value) if value > 0 else default
