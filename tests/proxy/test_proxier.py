"""The proxier against the real kube-apiserver and a real ovs-vswitchd: Services and
EndpointSlices created through the API become select groups and flows in OVS, changes are
applied as they come, deletions clean up, and the programming latency is measured."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.openflow.client import FlowClient
from agent.openflow.cookies import Cookies
from agent.proxy.proxier import ENDPOINT_SLICES, Proxier, ProxyMetrics
from fastpath import parse_group
from pyantrea_daemon.metrics import Metrics
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import SERVICES
from pyantrea_kube.rest import RestClient
from tests.kubecluster import LoopbackCluster, wait_for_default_account

pytestmark = [pytest.mark.ovs, pytest.mark.slow]


@pytest.fixture
def cluster(tmp_path: Path):
    with LoopbackCluster(tmp_path / "kubernetes") as running:
        yield running


def service(name: str, port: int = 80, **spec) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": port, "protocol": "TCP"}], **spec},
    }


def endpoint_slice(service_name: str, *addresses: str, port: int = 8080, name: str | None = None) -> dict:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {
            "name": name or f"{service_name}-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service_name},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [a], "nodeName": "node1", "conditions": {"ready": True}} for a in addresses
        ],
    }


def groups(ovs) -> list:
    return [
        parse_group(line) for line in ovs.ofctl("dump-groups", "br-int").splitlines() if "group_id=" in line
    ]


def flows(ovs, table: int) -> list[str]:
    out = ovs.ofctl("dump-flows", "br-int", f"table={table}", options=("--no-stats",))
    return [line.strip() for line in out.splitlines() if "actions=" in line]


async def until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def test_services_and_slices_become_groups_and_flows(cluster, ovs):
    ovs.add_bridge("br-int")
    api = load_api_client(cluster.admin_kubeconfig)
    rest = RestClient(api)
    wait_for_default_account(rest, "default")
    metrics = Metrics("agent")

    async def main():
        flow_client = FlowClient(ovs.paths.mgmt_socket("br-int"), Cookies(1))
        await flow_client.connect()
        proxier = Proxier(
            node="node1",
            flows=flow_client,
            api_client=api,
            node_port_addresses=[],
            metrics=ProxyMetrics.declare(metrics),
        )
        try:
            async with proxier:
                web = await asyncio.to_thread(rest.create, SERVICES, "default", service("web"))
                cluster_ip = web["spec"]["clusterIP"]
                # No endpoints yet: the Service rejects (packets to the controller), no group.
                await until(lambda: any(f"nw_dst={cluster_ip}" in line for line in flows(ovs, 34)))
                assert "CONTROLLER" in next(line for line in flows(ovs, 34) if cluster_ip in line)
                assert groups(ovs) == []

                await asyncio.to_thread(
                    rest.create, ENDPOINT_SLICES, "default", endpoint_slice("web", "172.16.0.5", "172.16.1.5")
                )
                await until(lambda: len(groups(ovs)) == 1 and len(groups(ovs)[0].buckets) == 2)
                (group,) = groups(ovs)
                lb = next(line for line in flows(ovs, 34) if cluster_ip in line)
                assert f"group:{group.group_id}" in lb
                dnat = flows(ovs, 35)
                assert any("nat(dst=172.16.0.5:8080)" in line for line in dnat)
                assert any("nat(dst=172.16.1.5:8080)" in line for line in dnat)

                # One endpoint more: the group changes in place, same id.
                patch = {
                    "endpoints": endpoint_slice("web", "172.16.0.5", "172.16.1.5", "172.16.1.6")["endpoints"]
                }
                await asyncio.to_thread(rest.patch, ENDPOINT_SLICES, "default", "web-1", patch)
                await until(lambda: len(groups(ovs)) == 1 and len(groups(ovs)[0].buckets) == 3)
                assert groups(ovs)[0].group_id == group.group_id

                # The Service goes: its flows and group go.
                await asyncio.to_thread(rest.delete, SERVICES, "default", "web")
                await until(
                    lambda: groups(ovs) == [] and not any(cluster_ip in line for line in flows(ovs, 34))
                )
                assert flows(ovs, 35) == []
                return proxier.syncs
        finally:
            await flow_client.close()

    try:
        syncs = asyncio.run(main())
    finally:
        api.close()
    assert syncs >= 1  # each change's result is asserted in OVS above; a sync's count lags its commit
    samples = metrics.registry.get_sample_value(
        "pyantrea_agent_proxy_network_programming_duration_seconds_count"
    )
    assert samples and samples >= 2


def test_services_keep_being_programmed_after_ovs_vswitchd_stopped_answering_for_a_while(cluster, ovs):
    """A sync that found ovs-vswitchd unresponsive past the flow client's patience
    (FlowsNotInstalledError: the flows stay desired and are replayed) must not end the proxier's
    sync loop: a soak found a node's Services frozen from then on."""
    ovs.add_bridge("br-int")
    api = load_api_client(cluster.admin_kubeconfig)
    rest = RestClient(api)
    wait_for_default_account(rest, "default")
    vswitchd = ovs.pid("ovs-vswitchd")

    async def main() -> None:
        flow_client = FlowClient(ovs.paths.mgmt_socket("br-int"), Cookies(1), sync_timeout=1.0)
        await flow_client.connect()
        reconnecting = asyncio.create_task(flow_client.run())  # as the agent runs it
        proxier = Proxier(node="node1", flows=flow_client, api_client=api, node_port_addresses=[])
        try:
            async with proxier:
                await until(lambda: proxier.syncs >= 1)
                os.kill(vswitchd, signal.SIGSTOP)
                try:
                    stalled = proxier.syncs
                    await asyncio.to_thread(rest.create, SERVICES, "default", service("first"))
                    await asyncio.sleep(12)  # the bundle's reply times out, then the replay wait
                    assert proxier.syncs == stalled, "ovs-vswitchd was stopped: nothing was installed"
                finally:
                    os.kill(vswitchd, signal.SIGCONT)
                second = await asyncio.to_thread(rest.create, SERVICES, "default", service("second"))
                first = await asyncio.to_thread(rest.get, SERVICES, "default", "first")
                addresses = (first["spec"]["clusterIP"], second["spec"]["clusterIP"])
                await until(lambda: all(any(ip in line for line in flows(ovs, 34)) for ip in addresses), 40)
                assert "proxy-sync" in proxier._tasks.names
        finally:
            reconnecting.cancel()
            await flow_client.close()

    try:
        asyncio.run(main())
    finally:
        api.close()
