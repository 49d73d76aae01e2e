"""An HTTP API guarded as Kubernetes components guard theirs: the bearer token of each request
is reviewed by the API server (TokenReview), and its user must be allowed the request's verb on
its path as a non-resource URL under a prefix of the API's own (SubjectAccessReview), which a
ClusterRole grants:

    rules:
      - nonResourceURLs: [/pyantrea-agent/api/v1/flows]
        verbs: [get]

The prefix is needed: Kubernetes' default ClusterRole `system:discovery` lets every
authenticated user GET `/api/*`, so a review of the bare path `/api/v1/flows` would let anyone in.

No token, or one the API server does not authenticate: 401 (with `WWW-Authenticate: Bearer`).
A user not allowed: 403 naming the user, verb and path. An API server that cannot be asked: 503.
Answers are JSON `{"error": "..."}`, as the rest of the API's.
"""

from __future__ import annotations

import logging

from aiohttp import web

from pyantrea_kube.bearer import bearer_token
from pyantrea_kube.rest import RestClient
from pyantrea_kube.reviews import AccessReviewer, ReviewUnavailable, TokenReviewer

log = logging.getLogger(__name__)


class KubernetesGuard:
    """The `pyantrea_daemon.http.Guard` of an API whose callers are Kubernetes users."""

    def __init__(self, rest: RestClient, *, realm: str, prefix: str) -> None:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"prefix {prefix!r} must start with / and not end with one")
        self._tokens = TokenReviewer(rest)
        self._access = AccessReviewer(rest)
        self._realm = realm
        self._prefix = prefix

    async def refusal(self, request: web.Request) -> web.StreamResponse | None:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return self._unauthorized("no bearer token: send `Authorization: Bearer <token>`")
        verb, path = request.method.lower(), request.path
        try:
            user = await self._tokens.review(token)
            if user is None:
                return self._unauthorized("the bearer token is not valid (the API server did not accept it)")
            if await self._access.allowed(user, verb, f"{self._prefix}{path}"):
                return None
        except ReviewUnavailable as error:
            return web.json_response({"error": f"cannot check the request: {error}"}, status=503)
        log.warning("refused %s %s to %s", verb, path, user.name)
        message = f'user "{user.name}" may not {verb} {path} (non-resource URL {self._prefix}{path})'
        return web.json_response({"error": message}, status=403)

    def _unauthorized(self, message: str) -> web.Response:
        return web.json_response(
            {"error": message}, status=401, headers={"WWW-Authenticate": f'Bearer realm="{self._realm}"'}
        )
