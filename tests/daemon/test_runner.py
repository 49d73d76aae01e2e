"""The runner in a real process: SIGTERM and SIGINT stop the program cleanly, a crashed task fails it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_program() -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.daemon.sample_program", *args],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def read_until(process: subprocess.Popen[str], message: str) -> dict[str, Any]:
    assert process.stderr is not None
    for line in process.stderr:
        entry = json.loads(line)
        if entry["msg"] == message:
            return entry
    raise AssertionError(f"the program exited with {process.wait()} before logging {message!r}")


def rest_of_log(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    _, err = process.communicate(timeout=60)
    return [json.loads(line) for line in err.splitlines()]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_program_cleanly(start_program: Any, signum: signal.Signals) -> None:
    process = start_program()
    serving = read_until(process, "serving")
    assert (serving["component"], serving["node"], serving["task"]) == ("sample", "node-1", "main")
    assert serving["loop"] == "uvloop.Loop"
    with urllib.request.urlopen(f"http://127.0.0.1:{serving['port']}/readyz", timeout=30) as response:
        assert json.load(response) == {"status": "ok", "checks": {"heartbeat": None}}

    process.send_signal(signum)
    log = rest_of_log(process)

    assert process.returncode == 0
    messages = [entry["msg"] for entry in log]
    assert messages[0] == f"received {signum.name}, stopping"
    assert f"HTTP server on port {serving['port']} stopped" in messages
    assert {"msg": "heartbeat stopping", "task": "heartbeat"}.items() <= log[
        messages.index("heartbeat stopping")
    ].items()
    assert messages[-1] == "stopped"
    assert all(entry["level"] in {"info", "debug"} for entry in log)


def test_a_crashed_task_stops_the_program_with_an_error(start_program: Any) -> None:
    process = start_program("--crash")
    log = rest_of_log(process)

    assert process.returncode == 1
    (crash,) = [entry for entry in log if entry["level"] == "error"]
    assert crash["msg"] == "task crasher crashed: RuntimeError('simulated failure')"
    assert crash["task"] == "crasher"
    assert "RuntimeError: simulated failure" in crash["exc"]
    assert "heartbeat stopping" in [entry["msg"] for entry in log]
    assert log[-1]["level"] == "critical"
    assert log[-1]["msg"] == "stopped by an error"
    assert "TaskFailed: task 'crasher' crashed" in log[-1]["exc"]
