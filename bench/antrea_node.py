"""`python -m bench.antrea_node CONFIG PODS`: the AntreaProxy contender, one node's agent as a process.

Run inside the node's network namespace (`ip netns exec`), as the lab runs `pyantrea-agent`. It
composes what `agent.main` composes for Services: the agent's datapath (`Agent`: br-int on the
node's own ovs-vswitchd, userspace datapath, the pipeline, the pod datapath) and the agent's real
proxier (`agent.main.antrea_proxy`: the Service and EndpointSlice informers on the API server,
`ProxyState`, one bundle per batch through the FlowClient), with the proxy's convergence gate as
the agent has it. It leaves out what Services do not use: the controller client and the
NetworkPolicy runtime (no controller runs in this benchmark; with no policy the pipeline lets
traffic through), the agent's HTTPS API and the CNI server, whose ADDs wait for the controller's
initial policies. So the pods in PODS (a JSON list of `{"name", "netns", "ip"}`, `ip` with its
prefix) are attached as the CNI server attaches them: a veth into the pod, the pod's OVS port
and flows (`agent.pods`), the pod's address and default route through gw0. A restarted node
is given `[]`: its pods are in OVSDB, and the agent restores them.

It prints one JSON line once the proxier's first sync is installed (`{"installed": T}`, T on
CLOCK_MONOTONIC) and stops the agent when its stdin closes. Its peak RSS (VmHWM) is the
benchmark's memory figure for AntreaProxy.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

import uvloop
import yaml

from agent.agent import Agent
from agent.main import PROXY_GATE, antrea_proxy
from agent.proxy.proxier import ProxyMetrics
from pyantrea_config.agent import AgentConfig
from pyantrea_config.loader import load_document
from pyantrea_daemon.metrics import Metrics
from pyantrea_kube.config import load_api_client
from pyantrea_testing.podwiring import wire_pod


async def attach(agent: Agent, pod: dict[str, Any]) -> None:
    name = pod["name"]
    await wire_pod(agent, agent.netlink, namespace="bench", name=name, container_id=f"bench-{name}",
                   netns=Path(pod["netns"]), ip=IPv4Interface(pod["ip"]))  # fmt: skip


async def main(config_path: Path, pods: list[dict[str, Any]]) -> None:
    config = load_document(AgentConfig, yaml.safe_load(config_path.read_text()), source=str(config_path))
    metrics = Metrics("agent")
    api_client = load_api_client(config.kubeconfig)
    agent = Agent(config, metrics=metrics, api_client=api_client)
    synced = agent.add_convergence_gate(PROXY_GATE)
    try:
        async with agent:
            proxier = antrea_proxy(config, agent, ProxyMetrics.declare(metrics), synced)
            assert proxier is not None, "antreaProxy is disabled in the configuration"
            async with proxier:
                for pod in pods:
                    await attach(agent, pod)
                await proxier.installed.wait()
                print(json.dumps({"installed": time.monotonic(), "syncs": proxier.syncs}), flush=True)
                stdin_closed = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
                await asyncio.wait(
                    {asyncio.ensure_future(stdin_closed), asyncio.ensure_future(agent.wait())},
                    return_when=asyncio.FIRST_COMPLETED,
                )
    finally:
        api_client.close()


if __name__ == "__main__":
    uvloop.run(main(Path(sys.argv[1]), json.loads(sys.argv[2])))
