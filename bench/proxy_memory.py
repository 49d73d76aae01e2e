"""AntreaProxy's state at a scale, in a process of its own: `measure(kubeconfig, socket, round)`.

Run through `bench.isolated` (a fresh interpreter, so its VmHWM is the proxy's alone). It is the
agent's proxier as `agent.main.antrea_proxy` composes it, minus the rest of the agent: the
Service and EndpointSlice informers on a real API server, `ProxyState`, and the FlowClient
installing the first sync as one bundle into a real Open vSwitch bridge; then the stale-round
cleanup the agent runs once the proxy has converged (`FlowClient.delete_stale_rounds`), which
reads back every flow of the switch. The peak of the whole is the figure.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvloop

from agent.openflow.client import FlowClient
from agent.openflow.cookies import Cookies
from agent.proxy.proxier import OWNER, Proxier
from bench.isolated import status_mb
from pyantrea_kube.config import load_api_client


def measure(kubeconfig: str, mgmt_socket: str, round_: int) -> dict[str, Any]:
    """The proxier's first sync of every Service the API server holds, then the cleanup."""
    return uvloop.run(_measure(kubeconfig, Path(mgmt_socket), round_))


async def _measure(kubeconfig: str, mgmt_socket: Path, round_: int) -> dict[str, Any]:
    api_client = load_api_client(kubeconfig)
    flows = FlowClient(mgmt_socket, Cookies(round_))
    try:
        await flows.connect()
        proxier = Proxier(node="bench-node", flows=flows, api_client=api_client, node_port_addresses=[])
        started = time.monotonic()
        async with proxier:
            await asyncio.wait_for(proxier.installed.wait(), timeout=600)
            installed_s = time.monotonic() - started
            installed_mb = status_mb("VmHWM")
            await flows.delete_stale_rounds()
            return {
                "services": dict(Counter(s.namespace for s in proxier.state.services())),
                "flows": len(flows.flows(OWNER)),
                "groups": len(flows.groups(OWNER)),
                "installed_s": round(installed_s, 2),
                "installed_peak_mb": round(installed_mb, 1),
                "steady_rss_mb": round(status_mb("VmRSS"), 1),
            }
    finally:
        await flows.close()
        api_client.close()
