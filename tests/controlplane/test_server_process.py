"""`pyantrea-controller` as a process: config file and flags, JSON logs, /livez, /readyz once the
informers listed and the first computation is out, /metrics, an agent served over TLS, and a
clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.controlplane import k8s
from tests.controlplane.serving import Cluster, Recorder, cluster, policy_refs, run, running, until

__all__ = ["cluster"]

PROGRAM = Path(sys.executable).parent / "pyantrea-controller"


def _read_log_until(process: subprocess.Popen[str], message: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"the controller exited ({process.wait()}) before logging {message!r}")
        entry = json.loads(line)
        assert entry["component"] == "controller"
        if entry["msg"].startswith(message):
            return entry
    raise AssertionError(f"no {message!r} in the log within {timeout}s")


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_controller_program_serves_and_stops_on_sigterm(cluster: Cluster) -> None:
    objects = [
        k8s.namespace("prod"),
        k8s.node("n1"),
        k8s.pod("prod", "web1", {"app": "web"}, node="n1", ip="10.0.1.1"),
        k8s.policy("prod", "deny", k8s.labels(app="web"), policy_types=["Ingress"]),
    ]
    run(cluster.create(*objects))
    config = cluster.tmp_path / "controller.conf"
    config.write_text(
        yaml.safe_dump(
            {
                "kubeconfig": str(cluster.kubeconfig),
                "apiPort": 0,
                "httpPort": 0,
                "apiBindAddress": "127.0.0.1",
                "tlsCertDir": str(cluster.tmp_path / "tls"),
                "caPublishFile": str(cluster.tmp_path / "ca.crt"),
                "authTokenFile": str(cluster.controller_config().auth_token_file),
            }
        )
    )
    process = subprocess.Popen(
        [str(PROGRAM), "--config", str(config), "--watcherQueueSize=500"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        listening = _read_log_until(process, "HTTP server listening on")
        http_port = int(listening["msg"].rsplit(":", 1)[1])
        assert _get(http_port, "/livez")[0] == 200
        ready = _read_log_until(process, "controller running")
        assert ready["httpPort"] == http_port
        status, body = _get(http_port, "/readyz")
        assert status == 200, body
        assert set(json.loads(body)["checks"]) == {"informers", "computation", "controlplane-api"}

        async def agent_watches() -> None:
            agent = cluster.agent("n1", ready["apiPort"], Recorder())
            async with running(agent):
                await until(lambda: agent.connected, "the agent's sync")
                assert policy_refs(agent.snapshot()) == {"prod/deny"}
                metrics = await asyncio.to_thread(_get, http_port, "/metrics")
                assert "pyantrea_controller_watchers 1.0" in metrics[1]

        run(agent_watches())
        status, metrics = _get(http_port, "/metrics")
        assert status == 200
        for sample in (
            'pyantrea_controller_objects{kind="NetworkPolicy"} 1.0',
            'pyantrea_controller_objects{kind="AppliedToGroup"} 1.0',
            'pyantrea_controller_computation_seconds_count{phase="initial"} 1.0',
            'pyantrea_controller_events_sent_total{kind="NetworkPolicy"} 1.0',
            "pyantrea_controller_watchers 0.0",
        ):
            assert sample in metrics, sample
        assert json.loads(_get(http_port, "/api/v1/networkpolicies")[1])[0]["name"] == "deny"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr[-2000:]
    assert '"msg": "stopped"' in stderr


def test_a_bad_flag_is_refused_with_its_name(tmp_path: Path) -> None:
    failed = subprocess.run(
        [str(PROGRAM), "--watcherQueueSize=0"], check=False, capture_output=True, text=True, timeout=30
    )
    assert failed.returncode == 2
    assert "watcherQueueSize" in failed.stderr
