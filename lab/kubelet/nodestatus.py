"""The Node, as a kubelet keeps it: registered at start, then its Ready condition, which the
network plugin decides.

The node is Ready once a CNI network configuration is installed and the pyantrea agent answers
its `/readyz` with 200; until then NotReady with the reason. The condition is written when it
changes, checked every second while not ready and every five seconds after.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import urllib3
from kubernetes.client import ApiException

from lab.kubelet import status
from lab.kubelet.cni import CniRuntime
from pyantrea_kube.resources import NODES
from pyantrea_kube.rest import RestClient
from pyantrea_kube.writes import patch_status

log = logging.getLogger(__name__)

_NOT_READY_PERIOD = 1.0
_READY_PERIOD = 5.0
_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=2.0)


async def network_ready(cni: CniRuntime, session: aiohttp.ClientSession, agent_health_url: str) -> str | None:
    """None when pods can be networked here, else why not."""
    missing = cni.ready()
    if missing is not None:
        return f"container runtime network not ready: {missing}"
    try:
        # a kubelet's HTTPS probe does not verify the certificate; /readyz needs no credentials
        async with session.get(agent_health_url, ssl=False) as response:
            if response.status == 200:
                return None
            body = (await response.text()).strip()
            return f"pyantrea-agent not ready: {body or response.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"pyantrea-agent not reachable at {agent_health_url}: {exc or type(exc).__name__}"


async def register_node(rest: RestClient, node_name: str, node_ip: str) -> None:
    """Create this node's Node object, as a kubelet registers its node; one already there is kept."""
    try:
        await asyncio.to_thread(rest.create, NODES, None, status.node_object(node_name, node_ip))
        log.info("node %s registered", node_name)
    except ApiException as exc:
        if exc.status != 409:
            raise
        log.info("node %s was registered before", node_name)


async def report_node_status(
    rest: RestClient, node_name: str, cni: CniRuntime, agent_health_url: str
) -> None:
    """Keep the Node's Ready condition current; runs until cancelled."""
    reported: str | None = ""
    async with aiohttp.ClientSession(timeout=_HTTP_TIMEOUT) as session:
        while True:
            why = await network_ready(cni, session, agent_health_url)
            if why != reported:
                message = "kubelet is posting ready status" if why is None else why
                try:
                    await patch_status(
                        rest, NODES, None, node_name, status.node(ready=why is None, message=message)
                    )
                    reported = why
                    log.info("node %s: %s", node_name, "Ready" if why is None else f"NotReady: {why}")
                except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
                    log.warning("cannot write the status of node %s: %s", node_name, exc)
            await asyncio.sleep(_READY_PERIOD if why is None else _NOT_READY_PERIOD)
