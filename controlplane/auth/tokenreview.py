"""Agent tokens checked by the Kubernetes API (TokenReview), for a controller in a real cluster.

A token is valid when the API authenticates it as the agents' ServiceAccount; the node it speaks
for is its `authentication.kubernetes.io/node-name` claim, which Kubernetes (1.30+) puts in the
tokens it projects into pods. Answers are kept for a minute, so reconnecting agents do not each
cost a review.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubernetes.client import ApiException

from controlplane.auth.tokens import Identity
from pyantrea_kube.resources import Resource
from pyantrea_kube.rest import RestClient

log = logging.getLogger(__name__)

TOKEN_REVIEWS = Resource("authentication.k8s.io", "v1", "tokenreviews", namespaced=False)
AGENT_USER = "system:serviceaccount:kube-system:pyantrea-agent"
NODE_NAME_CLAIM = "authentication.kubernetes.io/node-name"
_CACHE_SECONDS = 60.0


class TokenReviewAuthenticator:
    """Accepts the node-bound tokens of the agents' ServiceAccount."""

    def __init__(self, rest: RestClient, *, user: str = AGENT_USER) -> None:
        self._rest = rest
        self._user = user
        self._cache: dict[str, tuple[float, Identity | None]] = {}

    async def authenticate(self, token: str) -> Identity | None:
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        try:
            review = await asyncio.to_thread(self._rest.create, TOKEN_REVIEWS, None, body)
        except ApiException as error:
            log.error("TokenReview failed: %s %s", error.status, error.reason)
            return None
        identity = self._identity(review.get("status") or {})
        self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
        self._cache[token] = (now + _CACHE_SECONDS, identity)
        return identity

    def _identity(self, status: dict[str, Any]) -> Identity | None:
        if not status.get("authenticated"):
            return None
        user = status.get("user") or {}
        if user.get("username") != self._user:
            log.warning("token of %r refused: only %s may watch", user.get("username"), self._user)
            return None
        nodes = (user.get("extra") or {}).get(NODE_NAME_CLAIM) or []
        if len(nodes) != 1 or not nodes[0]:
            log.warning("token of %s refused: not bound to a node (no %s claim)", self._user, NODE_NAME_CLAIM)
            return None
        return Identity(nodes[0])
