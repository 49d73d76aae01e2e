"""Restarts without disruption: the agent (new flow round, no lost ping, no stale flows) and
ovs-vswitchd under a running agent (replay restores the datapath and the node's addresses)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from agent.openflow.cookies import round_of
from lab import netns
from pyantrea_ovsdb import SetFlowRestoreWait
from pyantrea_testing.names import unique_name
from pyantrea_testing.ovs import require_root_and_ovs
from tests.agent.cluster import Cluster, Pod, ping, tcp_exchange, wait_until

pytestmark = pytest.mark.ovs


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_root_and_ovs()
    with Cluster(tmp_path_factory.mktemp("cluster"), prefix=unique_name("rs"), count=2).start() as c:
        yield c


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> dict[str, Pod]:
    n1, n2 = cluster.nodes
    return {"a1": cluster.add_pod(n1, "a1"), "a2": cluster.add_pod(n2, "a2")}


def cookie_rounds(cluster: Cluster, index: int) -> set[int]:
    dump = cluster.nodes[index].ovs.ofctl("dump-flows", "br-int", options=("--no-stats",))
    return {round_of(int(c, 16)) for c in re.findall(r"cookie=(0x[0-9a-f]+)", dump)} | (
        {0} if re.search(r"^(?!cookie=)\S", dump, re.MULTILINE) else set()
    )


class ContinuousPing:
    """`count` pings 50 ms apart from one namespace, in the background."""

    def __init__(self, netns: str, address: object, *, count: int) -> None:
        self.count = count
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "ping", "-c", str(count), "-i", "0.05", "-W", "1", str(address)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self._proc.stdout is not None
        self._stdout = self._proc.stdout
        self.output: list[str] = []

    def wait_for_replies(self, n: int) -> None:
        while sum("bytes from" in line for line in self.output) < n:
            line = self._stdout.readline()
            assert line, "".join(self.output)
            self.output.append(line)

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def result(self) -> tuple[int, int]:
        rest, _ = self._proc.communicate(timeout=self.count * 0.05 + 30)
        output = "".join(self.output) + rest
        match = re.search(r"(\d+) packets transmitted, (\d+) received", output)
        assert match, output
        return int(match.group(1)), int(match.group(2))


def test_agent_restart_loses_no_packet_and_leaves_no_stale_flows(cluster, pods):
    n1 = cluster.nodes[0]
    a1, a2 = pods["a1"], pods["a2"]
    assert ping(a1.netns, a2.ip.ip)
    old_round = cluster.agent(n1).flows.cookies.round
    flows_before = cluster.agent(n1).flows.owners()

    # a route left by a peer deleted while no agent runs goes away with the restart
    stale = ("172.16.99.0/24", "via", "172.16.99.1", "dev", "gw0", "onlink")
    pinger = ContinuousPing(a1.netns, a2.ip.ip, count=100)  # 5 s, far longer than the restart
    pinger.wait_for_replies(5)
    cluster.stop_agent(n1)
    netns.run(n1.netns, "ip", "route", "add", *stale)
    agent = cluster.start_agent(n1)
    assert wait_until(lambda: cookie_rounds(cluster, 0) == {old_round + 1})
    assert pinger.running, "the pings ended before the restart did: the test proves nothing"
    sent, received = pinger.result()
    assert (sent, received) == (100, 100), f"{sent - received} of {sent} pings lost during the agent restart"
    assert agent.flows.cookies.round == old_round + 1
    assert agent.flows.owners() == flows_before  # pods restored from OVSDB, peers from the informer
    assert [i.attachment for i in agent.pods.interfaces()] == [a1.interface.attachment]
    routes = netns.run(n1.netns, "ip", "route").stdout
    assert "172.16.99.0/24" not in routes and "172.16.2.0/24 via 172.16.2.1 dev gw0" in routes
    tcp_exchange(a2, a1)


def test_ovs_vswitchd_restart_is_replayed_without_an_agent_restart(cluster, pods):
    n1 = cluster.nodes[0]
    a1, a2 = pods["a1"], pods["a2"]
    agent = cluster.agent(n1)
    assert ping(a1.netns, a2.ip.ip)
    n_flows = len(n1.ovs.ofctl("dump-flows", "br-int").splitlines())

    n1.ovs.stop_vswitchd(kill=True)
    assert not cluster.loop.run(_connected_soon(agent))
    # restarted the way Antrea's OVS container does it: flows kept until the agent has replayed
    cluster.loop.run(agent.ovsdb.execute(SetFlowRestoreWait(True)))
    n1.ovs.start_vswitchd()

    assert wait_until(lambda: agent.flows.connected, timeout=30)
    assert wait_until(
        lambda: "flow-restore-wait" not in n1.ovs.vsctl("get", "Open_vSwitch", ".", "other_config")
    )
    # the new ovs-vswitchd started with an empty tunnel neighbour cache: the agent fills it again
    peer = str(cluster.nodes[1].address.ip)
    assert wait_until(lambda: peer in n1.ovs.appctl("tnl/neigh/show"))
    assert ping(a1.netns, a2.ip.ip)
    tcp_exchange(a2, a1)
    assert ping(n1.netns, a2.ip.ip)  # gw0's address and the peer route are back
    assert len(n1.ovs.ofctl("dump-flows", "br-int").splitlines()) == n_flows


async def _connected_soon(agent) -> bool:
    import asyncio

    for _ in range(20):
        if not agent.flows.connected:
            return False
        await asyncio.sleep(0.05)
    return True
