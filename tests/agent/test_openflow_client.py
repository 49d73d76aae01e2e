"""The agent's OpenFlow client against a real ovs-vswitchd: owners, bundles, rounds, replay."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from agent.openflow.client import FlowClient, FlowConflictError, FlowsNotInstalledError
from agent.openflow.cookies import Category, Cookies
from fastpath import Bucket, Flow, Group, Match, parse_dump, parse_group
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


# -- groups -------------------------------------------------------------------------------------


def groups_of(ovs) -> set[Group]:
    return {
        parse_group(line) for line in ovs.ofctl("dump-groups", "br-t").splitlines() if "group_id=" in line
    }


def group(group_id: int, *ips: int) -> Group:
    return Group(group_id, [Bucket([A.load("reg3", ip), A.Resubmit(35)]) for ip in ips])


def lb_flow(group_id: int) -> Flow:
    return Flow(34, 200, Match(tcp=True, nw_dst=f"10.96.0.{group_id}"), [A.Group(group_id)], 0x5)


def test_groups_are_owned_synced_and_updated_with_their_flows(bridge):
    async def main():
        client = client_of(bridge)
        await client.connect()
        await client.sync("svc", [lb_flow(1), lb_flow(2)], groups=[group(1, 10, 11), group(2, 20)])
        first = groups_of(bridge)
        with pytest.raises(FlowConflictError, match="group 1"):
            await client.sync("other", [], groups=[group(1, 99)])
        # One bundle: group 2 changes, group 3 and its flow come, group 1 and its flow go.
        await client.update(
            "svc",
            put=[lb_flow(3)],
            remove=[lb_flow(1).key],
            put_groups=[group(2, 20, 21), group(3, 30)],
            remove_groups=[1],
        )
        second = groups_of(bridge), installed(bridge)
        await client.remove("svc")
        await client.close()
        return first, second, client.groups("svc")

    first, (groups_after, flows_after), left = asyncio.run(main())
    assert first == {group(1, 10, 11), group(2, 20)}
    assert groups_after == {group(2, 20, 21), group(3, 30)}
    assert flows_after == {lb_flow(2), lb_flow(3)}
    assert groups_of(bridge) == set() and installed(bridge) == set() and left == ()


def test_a_refused_bundle_leaves_groups_as_they_were(bridge):
    async def main():
        client = client_of(bridge)
        await client.connect()
        await client.sync("svc", [lb_flow(1)], groups=[group(1, 10)])
        with pytest.raises(BundleError):
            await client.update("svc", put=[lb_flow(7)], put_groups=[group(1, 11)])  # no group 7
        await client.close()
        return client.groups("svc")

    assert asyncio.run(main()) == (group(1, 10),)
    assert groups_of(bridge) == {group(1, 10)}


def test_groups_are_replayed_when_ovs_vswitchd_restarts_and_stale_ones_deleted(bridge):
    bridge.ofctl("add-group", "br-t", "group_id=9,type=select,bucket=actions=drop")  # an earlier agent's

    async def main():
        client = client_of(bridge, sync_timeout=30)
        await client.connect()
        runner = asyncio.create_task(client.run())
        try:
            await client.sync("svc", [lb_flow(1)], groups=[group(1, 10)])
            before = groups_of(bridge)
            bridge.stop_vswitchd(kill=True)
            while client.connected:
                await asyncio.sleep(0.02)
            await asyncio.to_thread(bridge.start_vswitchd)
            while not client.connected:
                await asyncio.sleep(0.02)
            replayed = groups_of(bridge), installed(bridge)
            bridge.ofctl("add-group", "br-t", "group_id=9,type=select,bucket=actions=drop")
            await client.delete_stale_rounds()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await client.close()
        return before, replayed

    before, (groups_replayed, flows_replayed) = asyncio.run(main())
    assert group(1, 10) in before
    assert groups_replayed == {group(1, 10)} and flows_replayed == {lb_flow(1)}
    assert groups_of(bridge) == {group(1, 10)}
