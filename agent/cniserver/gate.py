"""The start-up gate: pod networking stays closed until the agent has realized its policies.

The agent opens the gate once its initial NetworkPolicy set is installed (Antrea's
`podNetworkWait`); until then an ADD waits, and after a while answers "try again later" (CNI
error 11), so that no pod starts unprotected. DEL and CHECK never wait.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Gate(Protocol):
    """What the CNI service waits on before an ADD."""

    async def wait(self) -> None:
        """Return once pod networking may start."""
        ...


class StartupGate:
    """A `Gate` the agent opens once; use it from the agent's event loop only."""

    def __init__(self, *, opened: bool = False) -> None:
        self._event = asyncio.Event()
        if opened:
            self._event.set()

    def open(self) -> None:
        self._event.set()

    @property
    def is_open(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()
