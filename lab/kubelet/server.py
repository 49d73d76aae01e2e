"""One pod's server process: started in the pod's namespace, watched, stopped.

The kubelet starts `python -m lab.podserver` inside the sandbox with `ip netns exec`, as a
runtime starts a pod's containers, and waits for its `ready` line. The process is the
kubelet's child; its stderr goes to the pod's log file, whose last lines explain a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.podserver import READY

_START_TIMEOUT_SECONDS = 30.0
_STOP_GRACE_SECONDS = 3.0


class ServerFailure(Exception):
    """The pod's server did not start (or ended); the message says why."""


class PodServer:
    """The server of pod `pod` (namespace/name) listening on `listens` ("80/TCP", ...)."""

    def __init__(self, *, netns: str, pod: str, listens: Sequence[str], log: Path) -> None:
        self.netns = netns
        self.pod = pod
        self.listens = tuple(listens)
        self.log = log
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        """Start the server and wait until it listens; raises ServerFailure."""
        argv = ["ip", "netns", "exec", self.netns, sys.executable, "-m", "lab.podserver", "--pod", self.pod]
        for listen in self.listens:
            argv += ["--listen", listen]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        self._process = process
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_SECONDS)
        except TimeoutError:
            await self.stop()
            raise ServerFailure(
                f"the pod's server did not listen within {_START_TIMEOUT_SECONDS:.0f}s"
            ) from None
        if line.decode().strip() != READY:
            status = await process.wait()
            self._process = None
            raise ServerFailure(self._why(status))

    async def wait(self) -> str:
        """Wait until the server ends by itself; returns why it ended."""
        process = self._process
        if process is None:
            raise RuntimeError(f"the server of {self.pod} is not running")
        status = await process.wait()
        return self._why(status)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_GRACE_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def _why(self, status: int) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        last = lines[-1] if lines else "no output"
        return f"the pod's server exited with status {status}: {last}"
