"""Readiness checks: named functions that say why a program is not ready yet, or nothing when it is.

A check is called on every ``/readyz`` request, so it must be cheap and must not block; it
usually reads state its component keeps (``lambda: None if synced.is_set() else "initial sync
running"``). A check that raises counts as failing, with the exception as the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

ReadinessCheck = Callable[[], str | None]


class Readiness:
    """The readiness checks of one program, by name."""

    def __init__(self, *, logger: logging.Logger) -> None:
        self._logger = logger
        self._checks: dict[str, ReadinessCheck] = {}

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        """Register ``check`` under ``name``; it returns None when ready, else the reason it is not."""
        if name in self._checks:
            raise ValueError(f"readiness check {name!r} is already registered")
        self._checks[name] = check

    def evaluate(self) -> dict[str, str | None]:
        """Every check's reason for not being ready, or None for the checks that pass."""
        results: dict[str, str | None] = {}
        for name, check in self._checks.items():
            try:
                results[name] = check()
            except Exception as error:
                self._logger.warning("readiness check %s raised %r", name, error, exc_info=True)
                results[name] = f"check raised {error!r}"
        return results
