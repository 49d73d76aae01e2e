"""Which resource requests clients make: the (verb, group, resource, subresource) of each call.

A request is read from its path and method the way kube-apiserver's `RequestInfo` reads it for
the authorizer, whether or not the stand-in serves that resource (a TokenReview is recorded even
though the stand-in answers 404). The verb: GET of an object is `get`, of a collection `list`,
or `watch` with `watch=true`; POST `create`, PUT `update`, PATCH `patch`, DELETE of an object
`delete`, of a collection `deletecollection`. `user` is the bearer token the client presented
(None without one): the stand-in has no user database, so a test that gives each component a
token of its own can tell the components apart. The tests derive the manifests' RBAC rules from
these records (tests/manifests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One resource request as an authorizer sees it; `name` None for a collection."""

    user: str | None
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None


RequestObserver = Callable[[ApiRequest], None]
"""Called on the server's event loop for every resource request, before it is served."""

_BEARER = "Bearer "
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def resource_request(
    method: str, group: str, segments: Sequence[str], query: Mapping[str, str], authorization: str
) -> ApiRequest | None:
    """The request on the path segments after `/api/v1` or `/apis/<group>/<version>`; None for
    discovery (no segments)."""
    parts = list(segments)
    namespace = None
    if parts and parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        # `namespaces/<ns>/<resource>...` addresses a resource in the namespace; `namespaces/<ns>`
        # and its own subresources address the Namespace itself.
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    if not parts:
        return None
    name = parts[1] if len(parts) > 1 else None
    return ApiRequest(
        user=bearer_token(authorization),
        verb=request_verb(method, has_name=name is not None, query=query),
        group=group,
        resource=parts[0],
        subresource=parts[2] if len(parts) > 2 else None,
        namespace=namespace,
        name=name,
    )


def request_verb(method: str, *, has_name: bool, query: Mapping[str, str]) -> str:
    """The authorizer's verb for an HTTP method on an object (`has_name`) or a collection."""
    if method == "GET":
        if has_name:
            return "get"
        return "watch" if query.get("watch", "").lower() in ("true", "1") else "list"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    return verbs.get(method, method.lower())


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, None for anything else."""
    if not authorization.startswith(_BEARER):
        return None
    return authorization[len(_BEARER) :].strip() or None
