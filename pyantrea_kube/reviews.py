"""Asking the Kubernetes API who a bearer token belongs to (TokenReview) and what that user may
do (SubjectAccessReview): the delegated authentication and authorization of Kubernetes' own
components, shared by the controller's controlplane API and the agent's local API.

Answers are kept for a minute (as kube-apiserver's webhook authenticator caches them), so a
client that calls again does not cost a review each time; a review the API server could not
answer is not kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import urllib3
from kubernetes.client import ApiException

from pyantrea_kube.resources import Resource
from pyantrea_kube.rest import RestClient

log = logging.getLogger(__name__)

TOKEN_REVIEWS = Resource("authentication.k8s.io", "v1", "tokenreviews", namespaced=False)
SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews", namespaced=False)
CACHE_SECONDS = 60.0


class ReviewUnavailable(RuntimeError):
    """The API server did not answer a review (it is down, or refused the reviewer itself)."""


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated user, as a TokenReview names it."""

    name: str
    uid: str
    groups: tuple[str, ...]
    extra: Mapping[str, tuple[str, ...]]


K = TypeVar("K")
V = TypeVar("V")


class _Cache(Generic[K, V]):
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: K, entry: V) -> None:
        now = time.monotonic()
        if len(self._entries) > 1000:  # bounded: drop what expired
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
        self._entries[key] = (now + self._seconds, entry)


class TokenReviewer:
    """Who a token belongs to, according to the API server's TokenReview."""

    def __init__(self, rest: RestClient, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._rest = rest
        self._cache: _Cache[str, User | None] = _Cache(cache_seconds)

    async def review(self, token: str) -> User | None:
        """The token's user, or None when the API server does not authenticate it; raises
        ReviewUnavailable when it could not be asked."""
        found, user = self._cache.get(token)
        if found:
            return user
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        status = (await _create(self._rest, TOKEN_REVIEWS, body, "TokenReview")).get("status") or {}
        user = _user(status) if status.get("authenticated") else None
        self._cache.put(token, user)
        return user


class AccessReviewer:
    """Whether a user may use a path of an HTTP API, according to the API server's
    SubjectAccessReview on that non-resource URL (as Kubernetes components authorize /metrics)."""

    def __init__(self, rest: RestClient, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._rest = rest
        self._cache: _Cache[tuple[str, tuple[str, ...], str, str], bool] = _Cache(cache_seconds)

    async def allowed(self, user: User, verb: str, path: str) -> bool:
        """Whether `user` may `verb` (get, post, ...) `path`; raises ReviewUnavailable when the
        API server could not be asked."""
        key = (user.name, user.groups, verb, path)
        found, answer = self._cache.get(key)
        if found:
            return bool(answer)
        spec: dict[str, Any] = {
            "user": user.name,
            "groups": list(user.groups),
            "nonResourceAttributes": {"path": path, "verb": verb},
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = {key: list(values) for key, values in user.extra.items()}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        status = (await _create(self._rest, SUBJECT_ACCESS_REVIEWS, body, "SubjectAccessReview")).get(
            "status"
        ) or {}
        allowed = bool(status.get("allowed")) and not status.get("denied")
        self._cache.put(key, allowed)
        return allowed


async def _create(rest: RestClient, resource: Resource, body: Mapping[str, Any], what: str) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(rest.create, resource, None, body)
    except ApiException as error:
        log.error("%s failed: %s %s", what, error.status, error.reason)
        raise ReviewUnavailable(f"{what} failed: {error.status} {error.reason}") from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        log.error("%s failed: %s", what, error)
        raise ReviewUnavailable(f"{what} failed: {error}") from error


def _user(status: Mapping[str, Any]) -> User:
    user = status.get("user") or {}
    extra = user.get("extra") or {}
    return User(
        name=str(user.get("username") or ""),
        uid=str(user.get("uid") or ""),
        groups=tuple(user.get("groups") or ()),
        extra={str(key): tuple(values or ()) for key, values in extra.items()},
    )
