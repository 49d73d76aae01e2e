"""`FlowClient.update`: changing a few of a big owner's flows, against a real ovs-vswitchd."""

from __future__ import annotations

import asyncio

import pytest

from agent.openflow.client import FlowClient, FlowConflictError
from agent.openflow.cookies import Cookies
from fastpath import DuplicateFlowError, Flow, Match, parse_dump
from fastpath import actions as A
from fastpath.connection import BundleError

pytestmark = pytest.mark.ovs


@pytest.fixture
def bridge(ovs):
    ovs.add_bridge("br-u")
    return ovs


def installed(ovs) -> set[Flow]:
    return set(parse_dump(ovs.ofctl("dump-flows", "br-u", options=("--no-stats",))))


def flow(n: int, *, port: int = 1, cookie: int = 0xA) -> Flow:
    return Flow(70, 200, Match(ip=True, nw_dst=f"10.0.0.{n}"), [A.Output(port)], cookie)


def test_update_puts_and_removes_only_what_it_names(bridge):
    async def main():
        client = FlowClient(bridge.paths.mgmt_socket("br-u"), Cookies(1))
        await client.connect()
        await client.update("np", put=[flow(1), flow(2), flow(3)])
        first = installed(bridge)
        await client.update("np", put=[flow(2, port=2), flow(4)], remove=[flow(1).key, flow(9).key])
        second = installed(bridge)
        owned = client.flows("np")
        await client.update("np", remove=[flow(2).key, flow(3).key, flow(4).key])
        await client.close()
        return first, second, owned, installed(bridge), client.owners(), client.table_counts()

    first, second, owned, last, owners, counts = asyncio.run(main())
    assert first == {flow(1), flow(2), flow(3)}
    assert second == {flow(2, port=2), flow(3), flow(4)}
    assert set(owned) == second
    assert last == set()
    assert owners == []
    assert counts == {}


def test_update_and_sync_agree_on_one_owner(bridge):
    async def main():
        client = FlowClient(bridge.paths.mgmt_socket("br-u"), Cookies(1))
        await client.connect()
        await client.sync("np", [flow(1), flow(2)])
        await client.update("np", put=[flow(3)], remove=[flow(1).key])
        await client.sync("np", [flow(3), flow(5)])
        await client.close()

    asyncio.run(main())
    assert installed(bridge) == {flow(3), flow(5)}


def test_update_refuses_what_it_cannot_do_and_changes_nothing(bridge):
    bad = Flow(10, 1, Match(), [A.GotoTable(5)])  # Open vSwitch refuses going back to an earlier table

    async def main():
        client = FlowClient(bridge.paths.mgmt_socket("br-u"), Cookies(1))
        await client.connect()
        await client.update("np", put=[flow(1), flow(2)])
        await client.sync("pods", [flow(7)])
        with pytest.raises(FlowConflictError, match="belongs to pods"):
            await client.update("np", put=[flow(7, port=3)])
        with pytest.raises(DuplicateFlowError):
            await client.update("np", put=[flow(3), flow(3, port=2)])
        with pytest.raises(ValueError, match="both puts and removes"):
            await client.update("np", put=[flow(3)], remove=[flow(3).key])
        with pytest.raises(BundleError):
            await client.update("np", put=[flow(2, port=9), bad], remove=[flow(1).key])
        flows = set(client.flows("np"))
        await client.update("np", put=[flow(4)])  # the client still knows what is installed
        await client.close()
        return flows, client.table_counts()

    flows, counts = asyncio.run(main())
    assert flows == {flow(1), flow(2)}
    assert installed(bridge) == {flow(1), flow(2), flow(4), flow(7)}
    assert counts == {70: 4}
