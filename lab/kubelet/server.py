"""One container's program: started in the pod's namespace, watched, stopped.

The kubelet starts each container's program inside the sandbox with `ip netns exec` (which also gives it
the pod's /etc/resolv.conf, from /etc/netns/<sandbox>/), as a runtime starts a pod's containers:
the lab's pod server (`python -m lab.podserver`), which says `ready` once it listens, or the
program the image map names for the container's image, which is started once every declared TCP
port accepts connections. The process is the kubelet's child; its output goes to the container's
log file, whose last lines explain a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lab import netns
from lab.podserver import READY

_START_TIMEOUT_SECONDS = 30.0
_STOP_GRACE_SECONDS = 3.0
_POLL_SECONDS = 0.1


class ServerFailure(Exception):
    """The pod's program did not start (or ended); the message says why."""


@dataclass(frozen=True, slots=True)
class Launch:
    """How to run a container's program."""

    argv: tuple[str, ...]
    """Run inside the pod's namespace (`ip netns exec` is added)."""
    env: tuple[tuple[str, str], ...] = ()
    says_ready: bool = True
    """True: the program prints `ready` (the pod server); False: ready once `tcp_ports` accept."""
    tcp_ports: tuple[int, ...] = ()
    mounts: tuple[tuple[str, str], ...] = field(default=())
    """(source directory, target) bind mounts in the program's own mount namespace."""


def pod_server_launch(pod: str, listens: tuple[str, ...]) -> Launch:
    argv = [sys.executable, "-m", "lab.podserver", "--pod", pod]
    for listen in listens:
        argv += ["--listen", listen]
    return Launch(argv=tuple(argv))


def _mounted(launch: Launch) -> list[str]:
    """The argv with the launch's bind mounts made first (`ip netns exec` gives a private mount
    namespace, so they are the program's alone)."""
    if not launch.mounts:
        return list(launch.argv)
    script = " && ".join(f'mount --bind "${2 * i + 1}" "${2 * i + 2}"' for i in range(len(launch.mounts)))
    count = 2 * len(launch.mounts)
    paths = [path for mount in launch.mounts for path in mount]
    return ["sh", "-c", f'{script} && shift {count} && exec "$@"', "sh", *paths, *launch.argv]


def _listening(netns_name: str, port: int) -> bool:
    def connect() -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", port)) == 0

    return netns.call_in(netns_name, connect)


class PodServer:
    """The program of container `container` of pod `pod` (namespace/name) run as `launch` says."""

    def __init__(self, *, netns: str, pod: str, container: str, launch: Launch, log: Path) -> None:
        self.netns = netns
        self.pod = pod
        self.container = container
        self.launch = launch
        self.log = log
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        """Start the program and wait until it serves; raises ServerFailure."""
        argv = ["ip", "netns", "exec", self.netns, *_mounted(self.launch)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**_base_env(), **dict(self.launch.env)}
        with open(self.log, "ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, env=env,
                stdout=asyncio.subprocess.PIPE if self.launch.says_ready else log, stderr=log,
            )  # fmt: skip
        self._process = process
        try:
            await asyncio.wait_for(self._ready(process), _START_TIMEOUT_SECONDS)
        except TimeoutError:
            await self.stop()
            raise ServerFailure(
                f"the program of container {self.container} did not listen within "
                f"{_START_TIMEOUT_SECONDS:.0f}s"
            ) from None
        except ServerFailure:
            status = await process.wait()
            self._process = None
            raise ServerFailure(self._why(status)) from None

    async def _ready(self, process: asyncio.subprocess.Process) -> None:
        if self.launch.says_ready:
            assert process.stdout is not None
            if (await process.stdout.readline()).decode().strip() != READY:
                raise ServerFailure
            return
        waiting = list(self.launch.tcp_ports)
        while waiting:
            if process.returncode is not None:
                raise ServerFailure
            if await asyncio.to_thread(_listening, self.netns, waiting[0]):
                waiting.pop(0)
            else:
                await asyncio.sleep(_POLL_SECONDS)

    async def wait(self) -> str:
        """Wait until the program ends by itself; returns why it ended."""
        process = self._process
        if process is None:
            raise RuntimeError(f"the program of {self.pod} container {self.container} is not running")
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
        return f"the program of container {self.container} exited with status {status}: {last}"


def _base_env() -> Mapping[str, str]:
    """What every pod program gets of the kubelet's environment: PATH and the locale, no more."""
    return {
        key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "PYTHONPATH")
    }
