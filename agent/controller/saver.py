"""Saving the agent's state to its file store in a worker thread, coalesced.

After a replace the whole state is saved; after events only the objects they touched, each
once however many events touched it. Objects are read from the state when the save runs, so
the files catch up with the latest values. A failed save is logged and tried again later: the
files are a fallback, never a reason to stop enforcing.
"""

from __future__ import annotations

import asyncio
import logging

from agent.controller.filestore import FileStore
from agent.policy.store import PolicyStore
from pyantrea_api.events import ObjectKind

log = logging.getLogger(__name__)

_RETRY_SECONDS = 5.0


class StateSaver:
    """Keeps a `FileStore` following a `PolicyStore`; `run` until cancelled."""

    def __init__(self, store: FileStore, state: PolicyStore, *, delay: float = 0.2) -> None:
        self._store = store
        self._state = state
        self._delay = delay
        self._all = False
        self._changed: set[tuple[ObjectKind, str]] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def replaced(self) -> None:
        """The state was replaced: save all of it."""
        self._all = True
        self._changed = set()
        self._wake_up()

    def changed(self, kind: ObjectKind, name: str) -> None:
        if not self._all:
            self._changed.add((kind, name))
        self._wake_up()

    async def wait_saved(self) -> None:
        """Until every change so far is in the files."""
        await self._idle.wait()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._delay)
            self._wake.clear()
            try:
                await self._save()
            except (OSError, ValueError) as error:
                log.error("saving the policies to %s failed: %s; retrying", self._store.directory, error)
                self._all = True
                self._wake.set()
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            if not self._wake.is_set():
                self._idle.set()

    def _wake_up(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def _save(self) -> None:
        state = self._state
        if self._all:
            self._all = False
            self._changed = set()
            await asyncio.to_thread(self._store.save_all, state.snapshot())
            return
        changed, self._changed = self._changed, set()
        changes = [(kind, name, state.get(kind, name)) for kind, name in changed]
        await asyncio.to_thread(self._store.save, changes)
