"""Bearer tokens in an `Authorization` value, as HTTP headers and gRPC metadata carry them."""

from __future__ import annotations

_SCHEME = "bearer "


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, or None without one."""
    if header is None or header[: len(_SCHEME)].lower() != _SCHEME:
        return None
    return header[len(_SCHEME) :].strip() or None
