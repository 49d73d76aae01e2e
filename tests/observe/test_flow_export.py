"""Open vSwitch's own flow export, configured by the agent from its `flowExport` section.

Two in-process agents on VXLAN nodes; node1's agent exports IPFIX (every packet sampled) to a
collector on node1's loopback (ovs-vswitchd runs in the node's namespace, so that is where it
sends). A pod on node1 pings and connects to a pod on node2, and the collector must receive
IPFIX records of that pair, read with the `ipfix` package (RFC 7011, with the variable-length
fields, interfaceName and interfaceDescription, that every Open vSwitch template carries).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import ipfix.ie
import ipfix.message
import pytest

from agent.observe.flowexport import configure_flow_export, flow_export
from lab import netns
from lab.nodes import NodeHost
from pyantrea_config.agent import AgentConfig, FlowExportConfig, FlowExportProtocol
from pyantrea_config.kinds import HostPort
from pyantrea_config.loader import load_document
from pyantrea_ovsdb import FlowExport, GetFlowExport, IpfixConfig, NetflowConfig, SflowConfig
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.agent.cluster import Cluster, ping, tcp_exchange

pytestmark = pytest.mark.ovs

COLLECTOR = ("127.0.0.1", 4739)
ipfix.ie.use_iana_default()


def export(protocol: FlowExportProtocol, *, enable: bool = True) -> FlowExportConfig:
    return FlowExportConfig(
        enable=enable,
        protocol=protocol,
        collector_address=HostPort(*COLLECTOR),
        sampling=1 if enable else 400,
    )


def test_the_config_asks_for_exactly_one_export_or_none():
    target = ("127.0.0.1:4739",)
    assert flow_export(export(FlowExportProtocol.IPFIX)) == FlowExport(ipfix=IpfixConfig(target, sampling=1))
    assert flow_export(export(FlowExportProtocol.NETFLOW)) == FlowExport(netflow=NetflowConfig(target))
    assert flow_export(export(FlowExportProtocol.SFLOW)) == FlowExport(sflow=SflowConfig(target, sampling=1))
    assert flow_export(export(FlowExportProtocol.IPFIX, enable=False)) == FlowExport()


class ExportingCluster(Cluster):
    """Agents whose configuration exports IPFIX to the collector on their node's loopback."""

    def config(self, node: NodeHost) -> AgentConfig:
        document = node.agent_config(kubeconfig=self.kubeconfig, tunnel_type=self.tunnel_type)
        document["flowExport"] = {
            "enable": True, "protocol": "ipfix", "collectorAddress": f"{COLLECTOR[0]}:{COLLECTOR[1]}",
            "sampling": 1,
        }  # fmt: skip
        return load_document(AgentConfig, document)


class Collector:
    """An IPFIX collector on UDP inside a network namespace, keeping every data record."""

    def __init__(self, namespace: str) -> None:
        self.records: list[dict[str, Any]] = []
        self._namespace = namespace
        self._bound = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ipfix-{namespace}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        assert self._bound.wait(10), "the collector did not bind"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        netns.enter(self._namespace)
        messages = ipfix.message.MessageBuffer()  # keeps the templates from message to message
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(COLLECTOR)
            sock.settimeout(0.2)
            self._bound.set()
            while not self._stop.is_set():
                try:
                    data = sock.recv(65535)
                except TimeoutError:
                    continue
                messages.from_bytes(data)
                self.records += list(messages.namedict_iterator())  # sets of unknown templates are skipped


def ports_by_pair(records: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """The input interfaces of the records of each (source, destination) address pair."""
    pairs: dict[tuple[str, str], set[str]] = {}
    for record in list(records):
        if "sourceIPv4Address" in record:
            pair = (str(record["sourceIPv4Address"]), str(record["destinationIPv4Address"]))
            pairs.setdefault(pair, set()).add(record.get("interfaceName", ""))
    return pairs


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExportingCluster]:
    require_root_and_ovs()
    with ExportingCluster(
        tmp_path_factory.mktemp("export"), prefix=unique_name("fx"), count=2
    ).start() as made:
        yield made


def test_ipfix_records_of_a_probed_pod_pair_reach_the_collector(cluster: ExportingCluster):
    node1, node2 = cluster.nodes
    collector = Collector(node1.netns)
    collector.start()
    try:
        agent = cluster.agent(node1)
        cluster.loop.run(
            configure_flow_export(agent.ovsdb, agent.config.ovs_bridge, agent.config.flow_export)
        )
        configured = cluster.loop.run(agent.ovsdb.execute(GetFlowExport(agent.config.ovs_bridge)))
        assert configured == FlowExport(ipfix=IpfixConfig(("127.0.0.1:4739",), sampling=1))

        client, server = cluster.add_pod(node1, "client"), cluster.add_pod(node2, "server")
        assert ping(client.netns, server.ip.ip)
        tcp_exchange(server, client)
        pair = (str(client.ip.ip), str(server.ip.ip))
        deadline = time.monotonic() + 30
        while not {pair, pair[::-1]} <= (seen := ports_by_pair(collector.records)).keys():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert pair in seen, f"no IPFIX record of {pair}: {sorted(seen)}"
        # Sampled where they entered node1's br-int: the client's port, and the replies at tun0.
        assert client.interface.attachment.host_ifname in seen[pair]
        assert "tun0" in seen[pair[::-1]]
    finally:
        collector.stop()
