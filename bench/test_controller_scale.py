"""The controlplane server at scale: a controller process and 100 simulated agents over real gRPC
with TLS on loopback.

The controller runs in a process of its own (`python -m bench.test_controller_scale serve`), on
uvloop as the program does, with the real server stack: store, dispatcher, Watch service,
TLS, node tokens. Its inputs go straight into the engine (informers are not what is measured
here). It reports its CPU time and RSS on request, so its cost is measured apart from the
agents'. The simulated agents are bare gRPC clients in the benchmark process, one channel
(connection) each, that decode every WatchBatch as a real agent does, and note when the events
they wait for arrive.

Targets (in the code; the figures measured are in `bench/results/`; the agents' decoding, in one
process, is most of the fan-out latency):

| benchmark          | what                                                          | target              |
| ------------------ | ------------------------------------------------------------- | ------------------- |
| fanout_10k_members | 10,000 pods join an AddressGroup that 100 nodes need: the     | p99 <= 1 s,         |
|                    | patch (10,000 members added) reaches every agent              | <= 1 core           |
| fanout_one_member  | one more pod joins that 10,000-member group                   | (same)              |
| resync_dense       | dense_one_namespace (10k pods, 10k policies each selecting    | <= 10 s             |
|                    | every pod) to 100 agents connecting at once to a fresh one    |                     |
| memory_per_watcher | controller RSS growth from 50 to 100 synced, idle watchers    | <= 2 MB each        |

Run alone: `python -m bench.test_controller_scale fanout_10k_members` prints the figures.
`PYANTREA_BENCH_AGENTS` sets the number of agents (default 100).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import uvloop

from bench.targets import at_most
from bench.test_controlplane_scale import Inputs, dense_one_namespace
from controlplane import gcsettings
from controlplane.auth.certs import load_or_create
from controlplane.auth.shared import SharedSecretAuthenticator, node_token
from controlplane.compute.engine import PolicyEngine
from controlplane.compute.inputs import Namespace, NetworkPolicy, Node, Pod, PodPhase, PolicyPeer, PolicyRule
from controlplane.compute.labels import LabelSelector, make_labels
from controlplane.metrics import ControllerMetrics
from controlplane.server.grpcserver import ControlplaneServer
from controlplane.server.service import ControlplaneService
from controlplane.server.watchers import Dispatcher
from controlplane.store.versioned import Store
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from proto.controlplane.v1beta1 import controlplane_pb2_grpc as pb_grpc
from pyantrea_api.objects import Direction
from pyantrea_api.server import SERVER_NAME
from pyantrea_daemon.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"bench-secret"
AGENTS = int(os.environ.get("PYANTREA_BENCH_AGENTS", "100"))
MEMBERS = 10_000
NAMESPACE = "bench"


# -- scenarios: the controller's inputs and the change it then makes ---------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    inputs: Inputs
    change: Callable[[PolicyEngine], None] | None
    expect: Callable[[pb.Event], bool] | None
    """Whether an event is the one the change sends every agent."""


def _client(index: int, agents: int, label: str) -> Pod:
    ip = (10 << 24 | 1 << 16 | index).to_bytes(4, "big")
    return Pod(
        NAMESPACE,
        f"client-{index}",
        make_labels({"role": label}),
        f"node-{index % agents}",
        False,
        PodPhase.RUNNING,
        (ip,),
        (),
    )


def _fanout_inputs(agents: int, client_label: str) -> Inputs:
    """One server pod per agent node, selected by a policy allowing ingress from role=client;
    10,000 client pods labeled `client_label`."""
    servers = [
        Pod(
            NAMESPACE,
            f"server-{i}",
            make_labels({"app": "server"}),
            f"node-{i}",
            False,
            PodPhase.RUNNING,
            ((10 << 24 | 2 << 16 | i).to_bytes(4, "big"),),
            (),
        )
        for i in range(agents)
    ]
    clients = [_client(i, agents, client_label) for i in range(MEMBERS)]
    rule = PolicyRule((PolicyPeer(LabelSelector.from_match_labels({"role": "client"}), None, None),), ())
    policy = NetworkPolicy(
        NAMESPACE,
        "servers",
        "uid-servers",
        1,
        LabelSelector.from_match_labels({"app": "server"}),
        frozenset({Direction.IN}),
        (rule,),
        (),
    )
    return Inputs(
        [Namespace(NAMESPACE, make_labels({}))],
        [Node(f"node-{i}") for i in range(agents)],
        servers + clients,
        [policy],
    )


def _is_patch_adding(count: int) -> Callable[[pb.Event], bool]:
    return lambda e: e.type == pb.MODIFIED and e.kind == pb.ADDRESS_GROUP and len(e.patch.added) == count


def fanout_10k_members(agents: int) -> Scenario:
    def change(engine: PolicyEngine) -> None:
        for i in range(MEMBERS):
            engine.upsert_pod(_client(i, agents, "client"))

    return Scenario(_fanout_inputs(agents, "idle"), change, _is_patch_adding(MEMBERS))


def fanout_one_member(agents: int) -> Scenario:
    def change(engine: PolicyEngine) -> None:
        engine.upsert_pod(_client(MEMBERS, agents, "client"))

    return Scenario(_fanout_inputs(agents, "client"), change, _is_patch_adding(1))


def resync_dense(agents: int) -> Scenario:
    return Scenario(dense_one_namespace(), None, None)


SCENARIOS: dict[str, Callable[[int], Scenario]] = {
    "fanout_10k_members": fanout_10k_members,
    "fanout_one_member": fanout_one_member,
    "resync_dense": resync_dense,
}


# -- the controller process ---------------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(name: str, agents: int, workdir: Path) -> None:
    """The controller: compute the scenario, serve it, and answer commands on stdin."""
    scenario = SCENARIOS[name](agents)
    engine, store = PolicyEngine(), Store()
    inputs = scenario.inputs
    with gcsettings.paused():
        for namespace in inputs.namespaces:
            engine.upsert_namespace(namespace)
        for node in inputs.nodes:
            engine.upsert_node(node)
        for pod in inputs.pods:
            engine.upsert_pod(pod)
        for policy in inputs.policies:
            engine.upsert_policy(policy)
        store.apply(engine.sync())
    gcsettings.freeze()
    metrics = ControllerMetrics.declare(Metrics("controller"))
    dispatcher = Dispatcher(store, capacity=1000, metrics=metrics)
    service = ControlplaneService(
        dispatcher, SharedSecretAuthenticator(SECRET), on_report=lambda report: None, metrics=metrics
    )
    server = ControlplaneServer(
        service, host="127.0.0.1", port=0, tls=load_or_create(workdir / "tls", self_signed=True)
    )
    await server.start()
    _reply({"port": server.port})
    try:
        while command := (await asyncio.to_thread(sys.stdin.readline)).strip():
            if command == "change":
                assert scenario.change is not None
                start, cpu = time.monotonic(), _cpu_seconds()
                scenario.change(engine)
                store.apply(engine.sync())
                _reply({"start": start, "cpu": cpu, "computed": time.monotonic() - start})
            elif command == "stats":
                gc.collect()
                _reply({"cpu": _cpu_seconds(), "rss_kb": _rss_kb(), "watchers": len(dispatcher.watchers())})
            elif command == "quit":
                break
    finally:
        dispatcher.close()
        await server.stop(0)


class ControllerProcess:
    """The controller harness as a child process, driven over its stdin and stdout."""

    def __init__(self, scenario: str, agents: int, workdir: Path) -> None:
        self.workdir = workdir
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.test_controller_scale",
                "serve",
                scenario,
                "--agents",
                str(agents),
                "--workdir",
                str(workdir),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = self._read()["port"]

    def ask(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the controller harness exited with {self._process.wait()}")
        return json.loads(line)

    def stop(self) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.write("quit\n")
            self._process.stdin.flush()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


@contextlib.contextmanager
def controller(scenario: str, agents: int) -> Iterator[ControllerProcess]:
    with tempfile.TemporaryDirectory(prefix="pyantrea-bench-") as workdir:
        process = ControllerProcess(scenario, agents, Path(workdir))
        try:
            yield process
        finally:
            process.stop()


# -- the simulated agents ------------------------------------------------------------------------------


class Agents:
    """Bare gRPC watchers of `nodes`, one connection each, decoding every message."""

    def __init__(
        self, port: int, ca: bytes, nodes: list[str], expect: Callable[[pb.Event], bool] | None
    ) -> None:
        self._port = port
        self._ca = ca
        self._nodes = nodes
        self._expect = expect
        self.synced: dict[str, float] = {}
        """Node -> monotonic time INITIAL_EVENTS_END arrived."""
        self.received: dict[str, float] = {}
        """Node -> monotonic time the expected event arrived."""
        self.initial_events: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._channels: list[grpc.aio.Channel] = []

    def start(self) -> float:
        """Start every watch; returns when (monotonic time)."""
        started = time.monotonic()
        self._tasks = [asyncio.create_task(self._watch(node), name=f"agent-{node}") for node in self._nodes]
        return started

    async def wait_synced(self, timeout: float) -> None:
        await self.wait(lambda: len(self.synced) == len(self._nodes), timeout)

    async def wait(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            failed = [t for t in self._tasks if t.done()]
            if failed:
                failed[0].result()
                raise RuntimeError("an agent's watch ended")
            if time.monotonic() > deadline:
                raise TimeoutError(f"agents not done after {timeout}s")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self._channels:
            await channel.close()

    async def _watch(self, node: str) -> None:
        options = [
            ("grpc.ssl_target_name_override", SERVER_NAME),
            ("grpc.max_receive_message_length", -1),
            ("grpc.use_local_subchannel_pool", 1),
        ]
        channel = grpc.aio.secure_channel(
            f"127.0.0.1:{self._port}", grpc.ssl_channel_credentials(self._ca), options=options
        )
        self._channels.append(channel)
        metadata = (("authorization", f"Bearer {node_token(SECRET, node)}"),)
        call = pb_grpc.ControlplaneStub(channel).Watch(pb.WatchRequest(node_name=node), metadata=metadata)
        initial = 0
        async for batch in call:
            now = time.monotonic()
            for event in batch.events:
                if node not in self.synced:
                    if event.type == pb.INITIAL_EVENTS_END:
                        self.synced[node] = now
                        self.initial_events[node] = initial
                    else:
                        initial += 1
                elif self._expect is not None and self._expect(event):
                    self.received[node] = now


def _nodes(first: int, end: int) -> list[str]:
    return [f"node-{i}" for i in range(first, end)]


def _ca(harness: ControllerProcess) -> bytes:
    return (harness.workdir / "tls" / "ca.crt").read_bytes()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


# -- the measurements -------------------------------------------------------------------------------


async def _fanout(scenario: str, agents: int) -> dict[str, float]:
    with controller(scenario, agents) as harness:
        watchers = Agents(harness.port, _ca(harness), _nodes(0, agents), SCENARIOS[scenario](agents).expect)
        try:
            watchers.start()
            await watchers.wait_synced(120)
            change = await asyncio.to_thread(harness.ask, "change")
            await watchers.wait(lambda: len(watchers.received) == agents, 60)
            stats = await asyncio.to_thread(harness.ask, "stats")
        finally:
            await watchers.close()
    latencies = [at - change["start"] for at in watchers.received.values()]
    wall = max(watchers.received.values()) - change["start"]
    cpu = stats["cpu"] - change["cpu"]
    return {
        "agents": agents,
        "p50_seconds": round(sorted(latencies)[len(latencies) // 2], 4),
        "p99_seconds": round(_p99(latencies), 4),
        "max_seconds": round(max(latencies), 4),
        "computation_seconds": round(change["computed"], 4),
        "controller_cpu_seconds": round(cpu, 4),
        "controller_cores": round(cpu / wall, 3),
    }


async def _resync(agents: int) -> dict[str, float]:
    with controller("resync_dense", agents) as harness:
        before = await asyncio.to_thread(harness.ask, "stats")
        watchers = Agents(harness.port, _ca(harness), _nodes(0, agents), None)
        try:
            started = watchers.start()
            await watchers.wait_synced(300)
            finished = max(watchers.synced.values())
            stats = await asyncio.to_thread(harness.ask, "stats")
        finally:
            await watchers.close()
    return {
        "agents": agents,
        "seconds": round(finished - started, 3),
        "first_agent_seconds": round(min(watchers.synced.values()) - started, 3),
        "initial_events_per_agent": max(watchers.initial_events.values()),
        "controller_cpu_seconds": round(stats["cpu"] - before["cpu"], 3),
    }


async def _memory(agents: int) -> dict[str, float]:
    half = agents // 2
    with controller("resync_dense", agents) as harness:
        first = Agents(harness.port, _ca(harness), _nodes(0, half), None)
        second = Agents(harness.port, _ca(harness), _nodes(half, agents), None)
        try:
            first.start()
            await first.wait_synced(300)
            await asyncio.sleep(1.0)
            at_half = await asyncio.to_thread(harness.ask, "stats")
            second.start()
            await second.wait_synced(300)
            await asyncio.sleep(1.0)
            at_full = await asyncio.to_thread(harness.ask, "stats")
        finally:
            await first.close()
            await second.close()
    assert at_full["watchers"] == agents
    per_watcher_kb = (at_full["rss_kb"] - at_half["rss_kb"]) / (agents - half)
    return {
        "agents": agents,
        "rss_mb_at_half": round(at_half["rss_kb"] / 1024, 1),
        "rss_mb_at_full": round(at_full["rss_kb"] / 1024, 1),
        "mb_per_watcher": round(per_watcher_kb / 1024, 3),
    }


MEASURES: dict[str, Callable[[int], Any]] = {
    "fanout_10k_members": lambda n: _fanout("fanout_10k_members", n),
    "fanout_one_member": lambda n: _fanout("fanout_one_member", n),
    "resync_dense": _resync,
    "memory_per_watcher": _memory,
}


def measure(name: str, agents: int = AGENTS) -> dict[str, float]:
    return asyncio.run(MEASURES[name](agents))


def _bench(benchmark, figures, name: str) -> dict[str, float]:
    own = benchmark.pedantic(measure, args=(name,), rounds=1, iterations=1)
    figures.info(**own)
    return own


def _fanout_figures(figures, own: dict[str, float], what: str) -> None:
    figures.record("p99_seconds", own["p99_seconds"], "s", what, target=at_most(1.0))
    figures.record(
        "controller_cores",
        own["controller_cores"],
        "cores",
        "controller CPU during the fan-out",
        target=at_most(1.0),
    )
    figures.check()


def test_fanout_10k_members(benchmark, figures) -> None:
    own = _bench(benchmark, figures, "fanout_10k_members")
    _fanout_figures(figures, own, f"10,000-member AddressGroup patch to {AGENTS} agents over gRPC/TLS, p99")


def test_fanout_one_member(benchmark, figures) -> None:
    own = _bench(benchmark, figures, "fanout_one_member")
    _fanout_figures(figures, own, f"one member more in that group, to {AGENTS} agents, p99")


def test_resync_dense(benchmark, figures) -> None:
    own = _bench(benchmark, figures, "resync_dense")
    figures.record(
        "seconds",
        own["seconds"],
        "s",
        f"cold resync of `dense_one_namespace` to {AGENTS} agents",
        target=at_most(10.0),
    )
    figures.check()


def test_memory_per_watcher(benchmark, figures) -> None:
    own = _bench(benchmark, figures, "memory_per_watcher")
    figures.record(
        "mb_per_watcher",
        own["mb_per_watcher"],
        "MB",
        "controller RSS growth per extra synced watcher",
        target=at_most(2.0),
    )
    figures.check()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.test_controller_scale")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the controller harness (used by the benchmarks)")
    serve_parser.add_argument("scenario", choices=sorted(SCENARIOS))
    serve_parser.add_argument("--agents", type=int, default=AGENTS)
    serve_parser.add_argument("--workdir", type=Path, required=True)
    for name in MEASURES:
        commands.add_parser(name, help=f"measure {name} and print the figures")
    args = parser.parse_args()
    if args.command == "serve":
        gcsettings.configure()
        uvloop.run(serve(args.scenario, args.agents, args.workdir))
    else:
        print(json.dumps(measure(args.command)))


if __name__ == "__main__":
    main()
