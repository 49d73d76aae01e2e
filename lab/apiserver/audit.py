"""Which resource requests clients make: the (verb, group, resource, subresource) of each call.

The verb is the one kube-apiserver's authorizer sees (`RequestInfo`): GET of an object is `get`,
of a collection `list`, or `watch` with `watch=true`; POST `create`, PUT `update`, PATCH
`patch`, DELETE of an object `delete`, of a collection `deletecollection`. `user` is the bearer
token the client presented (None without one): the stand-in has no user database, so a test that
gives each component a token of its own can tell the components apart. The tests derive the
manifests' RBAC rules from these records (tests/manifests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
