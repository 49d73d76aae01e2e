"""Bearer tokens: reading them from call metadata, and the interface that checks them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pyantrea_api.values import value
from pyantrea_kube.bearer import bearer_token as _bearer


@value
class Identity:
    """Who a valid token belongs to: the agent of one node."""

    node: str


class Authenticator(Protocol):
    """Checks a bearer token."""

    async def authenticate(self, token: str) -> Identity | None:
        """The identity the token proves, or None when it is not valid."""
        ...


def bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The token of an `authorization: Bearer <token>` entry, or None without one."""
    for key, entry in metadata:
        if key == "authorization" and isinstance(entry, str) and (token := _bearer(entry)) is not None:
            return token
    return None
