"""The agent's OpenFlow client against a real ovs-vswitchd: owners, bundles, rounds, replay."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from agent.openflow.client import FlowClient, FlowConflictError, FlowsNotInstalledError
from agent.openflow.cookies import Category, Cookies
from fastpath import Flow, Match, parse_dump
from fastpath import actions as A
from fastpath.connection import BundleError

pytestmark = pytest.mark.ovs


@pytest.fixture
def bridge(ovs):
    ovs.add_bridge("br-t")
    return ovs


def installed(ovs) -> set[Flow]:
    return set(parse_dump(ovs.ofctl("dump-flows", "br-t", options=("--no-stats",))))


def flow(n: int, cookie: int, *, port: int = 1) -> Flow:
    return Flow(70, 200, Match(ip=True, nw_dst=f"10.0.0.{n}"), [A.Output(port)], cookie)


def client_of(ovs, round_: int = 1, **options) -> FlowClient:
    return FlowClient(ovs.paths.mgmt_socket("br-t"), Cookies(round_), **options)


def test_sync_installs_exactly_the_owners_flows(bridge):
    async def main():
        client = client_of(bridge)
        await client.connect()
        a = client.cookies(Category.POD, 1)
        await client.sync("a", [flow(1, a), flow(2, a)])
        await client.sync("b", [flow(3, a)])
        first = installed(bridge)
        await client.sync("a", [flow(1, a, port=2), flow(4, a)])  # modify, add, delete in one bundle
        second = installed(bridge)
        await client.remove("b")
        await client.close()
        return a, first, second, installed(bridge), client.table_counts()

    a, first, second, last, counts = asyncio.run(main())
    assert first == {flow(1, a), flow(2, a), flow(3, a)}
    assert second == {flow(1, a, port=2), flow(4, a), flow(3, a)}
    assert last == {flow(1, a, port=2), flow(4, a)}
    assert counts == {70: 2}


def test_an_identity_moves_between_owners_in_one_batch(bridge):
    async def main():
        client = client_of(bridge)
        await client.connect()
        await client.sync("a", [flow(1, 0xA)])
        await client.sync_many({"a": [], "b": [flow(1, 0xB)]})
        await client.close()

    asyncio.run(main())
    assert installed(bridge) == {flow(1, 0xB)}


def test_an_identity_of_another_owner_is_refused(bridge):
    async def main():
        client = client_of(bridge)
        await client.connect()
        await client.sync("a", [flow(1, 0xA)])
        with pytest.raises(FlowConflictError, match="belongs to a"):
            await client.sync("b", [flow(2, 0xB), flow(1, 0xB)])
        with pytest.raises(FlowConflictError):
            await client.sync_many({"b": [flow(5, 0xB)], "c": [flow(5, 0xC)]})
        await client.close()
        return client.owners()

    assert asyncio.run(main()) == ["a"]
    assert installed(bridge) == {flow(1, 0xA)}


def test_a_refused_bundle_changes_nothing(bridge):
    bad = Flow(10, 1, Match(), [A.GotoTable(5)])  # Open vSwitch refuses going back to an earlier table

    async def main():
        client = client_of(bridge)
        await client.connect()
        await client.sync("a", [flow(1, 0xA)])
        with pytest.raises(BundleError):
            await client.sync("a", [flow(2, 0xA), bad])
        await client.close()
        return client.flows("a")

    assert asyncio.run(main()) == (flow(1, 0xA),)
    assert installed(bridge) == {flow(1, 0xA)}


def test_a_new_round_replaces_the_old_and_deletes_its_stale_flows(bridge):
    async def main():
        old = client_of(bridge, 1)
        await old.connect()
        await old.sync("a", [flow(1, old.cookies(Category.POD)), flow(2, old.cookies(Category.POD))])
        await old.close()
        new = client_of(bridge, 2)
        await new.connect()
        await new.sync("a", [flow(1, new.cookies(Category.POD))])  # replaces round 1's flow in place
        mixed = installed(bridge)
        deleted = await new.delete_stale_rounds()
        await new.close()
        return old.cookies, new.cookies, mixed, deleted

    old, new, mixed, deleted = asyncio.run(main())
    assert mixed == {flow(1, new(Category.POD)), flow(2, old(Category.POD))}
    assert deleted == [1]
    assert installed(bridge) == {flow(1, new(Category.POD))}


def test_connect_drops_leftovers_of_its_own_round(bridge):
    bridge.ofctl(
        "add-flow", "br-t", f"cookie={3 << 48:#x},table=70,priority=200,ip,nw_dst=10.0.0.9,actions=drop"
    )

    async def main():
        client = client_of(bridge, 3)
        await client.connect()
        await client.close()

    asyncio.run(main())
    assert installed(bridge) == set()


def test_flows_are_replayed_when_ovs_vswitchd_restarts(bridge):
    async def main():
        client = client_of(bridge, sync_timeout=30)
        replays = asyncio.Queue()

        async def on_replay():
            await replays.put(True)

        client.add_replay_listener(on_replay)
        await client.connect()
        runner = asyncio.create_task(client.run())
        try:
            await client.sync("a", [flow(1, 0xA)])
            bridge.stop_vswitchd(kill=True)
            while client.connected:
                await asyncio.sleep(0.02)
            pending = asyncio.create_task(client.sync("b", [flow(2, 0xB)]))  # waits for the replay
            await asyncio.sleep(0.2)
            assert not pending.done()
            await asyncio.to_thread(bridge.start_vswitchd)
            await asyncio.wait_for(pending, 30)
            await asyncio.wait_for(replays.get(), 10)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await client.close()

    asyncio.run(main())
    assert installed(bridge) == {flow(1, 0xA), flow(2, 0xB)}


def test_a_sync_gives_up_when_ovs_vswitchd_stays_away(bridge):
    async def main():
        client = client_of(bridge, sync_timeout=0.5)
        await client.connect()
        runner = asyncio.create_task(client.run())
        try:
            bridge.stop_vswitchd(kill=True)
            while client.connected:
                await asyncio.sleep(0.02)
            with pytest.raises(FlowsNotInstalledError, match="will be installed when it is back"):
                await client.sync("a", [flow(1, 0xA)])
            return client.flows("a")
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await client.close()

    assert asyncio.run(main()) == (flow(1, 0xA),)
