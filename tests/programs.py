"""pyantrea's programs run as processes by tests: the JSON log in a file, waiting for one of its
lines, stopping with SIGTERM; the agent inside a lab node's network namespace."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lab import netns
from lab.nodes import NodeHost

WAIT_SECONDS = 60.0
_OPEN_PATHS_TLS = ssl.create_default_context()
_OPEN_PATHS_TLS.check_hostname = False
_OPEN_PATHS_TLS.verify_mode = ssl.CERT_NONE
STOP_SECONDS = 30.0


class ProgramProcess:
    """A program whose stderr (its JSON log) goes to `log`; `env` adds to this environment."""

    def __init__(self, argv: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.log = log
        with log.open("wb") as stderr:
            self._process = subprocess.Popen(
                list(argv), env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=stderr
            )

    def entries(self) -> list[dict[str, Any]]:
        """Every log entry so far."""
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def wait_for(self, message: str) -> dict[str, Any]:
        """The first entry whose message is `message`; fails when the program exits first."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for entry in self.entries():
                if entry["msg"] == message:
                    return entry
            if self._process.poll() is not None:
                raise AssertionError(
                    f"exited ({self._process.returncode}) before {message!r}: {self.log.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        raise AssertionError(f"no {message!r} within {WAIT_SECONDS:.0f}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM, then its exit status (once stopped, again); killed if it outstays STOP_SECONDS."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode


class AgentProcess(ProgramProcess):
    """`pyantrea-agent` in `node`'s namespace with its config file and `flags`."""

    def __init__(
        self,
        node: NodeHost,
        config: Path,
        log: Path,
        *,
        flags: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        program = [sys.executable, "-m", "agent.main", "--config", str(config), *flags]
        super().__init__(["ip", "netns", "exec", node.netns, *program], log, env=env)
        self.node = node
        self.port = 0

    def wait_running(self) -> None:
        """Until it logs that it runs; learns its HTTP port from that entry."""
        self.port = self.wait_for("agent running")["port"]

    def request(self, path: str, *, token: str | None = None) -> tuple[int, str]:
        """GET `path` of its HTTPS API from inside the node, with `token` if given, without checking
        the certificate (as a kubelet probes it)."""

        def get() -> tuple[int, str]:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5, context=_OPEN_PATHS_TLS) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()

        return netns.call_in(self.node.netns_path, get)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.request("/readyz")[0] != 200:
            assert time.monotonic() < deadline, f"the agent was not ready within {WAIT_SECONDS:.0f}s"
            time.sleep(0.2)
