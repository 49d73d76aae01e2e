"""`python -m lab.apiserver` as a process of its own: kubeconfig, token, state that survives a
restart, and a clean exit on SIGTERM. Every process started here is stopped by pid."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiException

from kube.config import load_api_client

_START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.state = tmp_path / "state.json"
        self.kubeconfig = tmp_path / "kubeconfig"
        self.token_file = tmp_path / "token"
        self.token_file.write_text("process-token\n")
        self.log = tmp_path / "apiserver.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.kubeconfig.unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lab.apiserver",
                    f"--listen=127.0.0.1:{self.port}",
                    f"--state-file={self.state}",
                    f"--kubeconfig={self.kubeconfig}",
                    f"--token-file={self.token_file}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.kubeconfig.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the API server process did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=_START_TIMEOUT)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    try:
        yield process
    finally:
        process.kill()


def with_core(kubeconfig: Path, action: Callable[[client.CoreV1Api], object]) -> object:
    api = load_api_client(kubeconfig)
    try:
        return action(client.CoreV1Api(api))
    finally:
        api.close()


def test_objects_survive_a_restart(server: ServerProcess):
    server.start()

    def populate(core: client.CoreV1Api) -> tuple[str, str]:
        core.create_namespace({"metadata": {"name": "shop"}})
        created = core.create_namespaced_pod(
            "shop", {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c"}]}}
        )
        return created.metadata.uid, created.metadata.resource_version

    uid, rv = with_core(server.kubeconfig, populate)
    assert server.terminate() == 0
    saved = json.loads(server.state.read_text())
    assert saved["resourceVersion"] == int(rv)
    assert {obj["metadata"]["name"] for obj in saved["objects"]} >= {"shop", "web", "default"}

    server.start()

    def check(core: client.CoreV1Api) -> None:
        pod = core.read_namespaced_pod("web", "shop")
        assert (pod.metadata.uid, pod.metadata.resource_version) == (uid, rv)
        later = core.create_namespaced_pod(
            "shop", {"metadata": {"name": "db"}, "spec": {"containers": [{"name": "c"}]}}
        )
        assert int(later.metadata.resource_version) > int(rv)
        # Watching from the last resourceVersion before the restart still works...
        events = watch.Watch().stream(core.list_namespaced_pod, "shop", resource_version=rv)
        first = next(iter(events))
        assert (first["type"], first["object"].metadata.name) == ("ADDED", "db")
        # ...but anything older than the restart is gone: the history did not survive it.
        with pytest.raises(ApiException) as gone:
            list(
                watch.Watch().stream(
                    core.list_namespaced_pod, "shop", resource_version="1", timeout_seconds=5
                )
            )
        assert gone.value.status == 410

    with_core(server.kubeconfig, check)
    assert server.terminate() == 0


def test_token_from_the_token_file_is_required(server: ServerProcess):
    server.start()
    assert "process-token" in server.kubeconfig.read_text()
    server.kubeconfig.write_text(server.kubeconfig.read_text().replace("process-token", "guess"))
    with pytest.raises(ApiException) as refused:
        with_core(server.kubeconfig, lambda core: core.list_namespace())
    assert refused.value.status == 401


def test_bad_listen_address_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "lab.apiserver", "--listen", "nowhere"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--listen must be HOST:PORT" in result.stderr
