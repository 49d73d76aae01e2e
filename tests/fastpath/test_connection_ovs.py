"""The asyncio OpenFlow connection against a real ovs-vswitchd: bundles, errors, dumps."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from fastpath._messages import ADD, DELETE_STRICT, MODIFY_STRICT

from fastpath import Flow, Match, parse_dump, parse_flow
from fastpath import actions as A
from fastpath.connection import BundleError, OpenFlowConnection, OpenFlowError

pytestmark = pytest.mark.ovs


@pytest.fixture
def bridge(ovs):
    ovs.add_bridge("br-t")
    return ovs


def run_on(ovs, body):
    """Connect to br-t, run `body(conn)`, close."""

    async def main():
        conn = await OpenFlowConnection.connect(ovs.paths.mgmt_socket("br-t"))
        try:
            return await body(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def installed(ovs) -> set:
    return set(parse_dump(ovs.ofctl("dump-flows", "br-t", "--no-stats")))


def peer_flows(n: int, cookie: int = 0x10) -> list[Flow]:
    return [
        Flow(90, 200, Match(ip=True, nw_src=0x0A000000 + i), [A.Conjunction(7, 1, 2)], cookie)
        for i in range(n)
    ]


def test_connect_reports_datapath(bridge):
    async def body(conn):
        return conn.datapath_id

    assert run_on(bridge, body) > 0


def test_bundle_applies_adds_modifies_and_deletes(bridge):
    flows = peer_flows(3)

    async def body(conn):
        await conn.apply_bundle(adds=flows)
        modified = flows[0].with_actions([A.Conjunction(8, 1, 2)])
        await conn.apply_bundle(adds=[peer_flows(4)[3]], modifies=[modified], deletes=[flows[2]])
        return modified

    modified = run_on(bridge, body)
    assert installed(bridge) == {modified, flows[1], peer_flows(4)[3]}


def test_modify_changes_cookie_and_keeps_counters(bridge):
    flow = Flow(0, 10, Match(), [A.Output("NORMAL")], cookie=1)

    async def body(conn):
        await conn.apply_bundle(adds=[flow])
        await conn.apply_bundle(modifies=[flow.with_cookie(2).with_actions([A.Drop()])])
        return await conn.dump_flows()

    (stats,) = run_on(bridge, body)
    assert stats.flow.cookie == 2
    assert stats.flow.actions == ()


def test_single_flow_mods_add_modify_strict_and_delete_strict(bridge):
    flow = Flow(0, 10, Match(ip=True), [A.Output("NORMAL")], cookie=7)

    async def body(conn):
        await conn.send_flow_mod(flow, ADD)
        await conn.send_flow_mod(flow.with_actions([A.Resubmit(10)]), MODIFY_STRICT)
        after_modify = [s.flow for s in await conn.dump_flows()]
        await conn.send_flow_mod(flow, DELETE_STRICT)
        return after_modify, await conn.dump_flows()

    after_modify, after_delete = run_on(bridge, body)
    assert after_modify == [flow.with_actions([A.Resubmit(10)])]  # OpenFlow 1.5 keeps the cookie
    assert after_delete == []


def test_bundle_with_undecodable_flow_installs_nothing(bridge):
    """Open vSwitch cannot decode set_field to ct_state; without the barrier check the rest would commit."""
    good = peer_flows(50)
    bad = Flow(90, 190, Match(ip=True), [A.SetField("ct_state", 1)])

    async def body(conn):
        with pytest.raises(BundleError) as info:
            await conn.apply_bundle(adds=[*good[:25], bad, *good[25:]])
        return info.value

    error = run_on(bridge, body)
    assert installed(bridge) == set()
    assert "->ct_state" in str(error)
    assert [flow for flow, _ in error.failures] == [bad]


def test_bundle_with_flow_rejected_at_validation_installs_nothing(bridge):
    """A group that does not exist is refused; the other flows of the bundle must not land."""
    good = peer_flows(10)
    bad = Flow(2, 1, Match(), [A.Group(99)])

    async def body(conn):
        await conn.apply_bundle(adds=[peer_flows(1, cookie=0x20)[0].with_actions([A.Conjunction(9, 1, 2)])])
        with pytest.raises(BundleError) as info:
            await conn.apply_bundle(adds=[*good, bad])
        return info.value

    error = run_on(bridge, body)
    assert {f.cookie for f in installed(bridge)} == {0x20}
    assert "group:99" in str(error)
    assert "BAD_OUT_GROUP" in str(error) or "GROUP" in str(error)


def test_single_flow_mod_error_fails_that_request(bridge):
    async def body(conn):
        with pytest.raises(OpenFlowError) as info:
            await conn.send_flow_mod(Flow(2, 1, Match(), [A.Group(42)]), ADD)
        # The connection stays usable after an error.
        await conn.send_flow_mod(Flow(2, 2, Match(), [A.Output("NORMAL")]), ADD)
        return info.value

    error = run_on(bridge, body)
    assert error.error is not None
    assert installed(bridge) == {parse_flow("table=2,priority=2 actions=NORMAL")}


def test_delete_by_cookie_leaves_other_cookies(bridge):
    async def body(conn):
        await conn.apply_bundle(adds=[*peer_flows(5, cookie=4294967297), Flow(0, 1, Match(), [], cookie=2)])
        await conn.delete_by_cookie(0x1_0000_0000, 0xFFFF_FFFF_0000_0000)

    run_on(bridge, body)
    assert installed(bridge) == {Flow(0, 1, Match(), [], cookie=0x2)}


def test_dump_filters_by_table_and_cookie(bridge):
    async def body(conn):
        await conn.apply_bundle(adds=[*peer_flows(4, cookie=5), Flow(10, 1, Match(), [], cookie=6)])
        in_table = await conn.dump_flows(table=10)
        by_cookie = await conn.dump_flows(cookie=0x5, cookie_mask=0xFF)
        return in_table, by_cookie

    in_table, by_cookie = run_on(bridge, body)
    assert [s.flow.table for s in in_table] == [10]
    assert {s.flow for s in by_cookie} == set(peer_flows(4, cookie=0x5))


def test_flow_cookies_are_the_cookies_ovs_holds_by_table_and_cookie(bridge):
    flows = [
        *peer_flows(300, cookie=0x1_0000_0005),
        Flow(10, 1, Match(), [], cookie=6),
        Flow(11, 1, Match(), []),
    ]

    async def body(conn):
        await conn.apply_bundle(adds=flows)
        return (
            await conn.flow_cookies(),
            await conn.flow_cookies(table=10),
            await conn.flow_cookies(cookie=0x5, cookie_mask=0xFF),
        )

    every, in_table, by_cookie = run_on(bridge, body)
    assert every == {0x1_0000_0005, 6, 0}
    assert in_table == {6}
    assert by_cookie == {0x1_0000_0005}


def test_large_bundle_is_atomic_and_complete(bridge):
    flows = peer_flows(20_000)

    async def body(conn):
        await conn.apply_bundle(adds=flows)

    run_on(bridge, body)
    out = bridge.ofctl("dump-aggregate", "br-t")
    assert "flow_count=20000" in out


def test_request_times_out_instead_of_waiting_forever():
    """A peer that never answers: connect must give up within its timeout."""

    async def main(path: Path):
        server = await asyncio.start_unix_server(lambda r, w: None, path=str(path))
        try:
            with pytest.raises(TimeoutError):
                await OpenFlowConnection.connect(path, timeout=0.3)
        finally:
            server.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp) / "silent.mgmt"))


def test_connection_lost_fails_pending_requests():
    async def main(path: Path):
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            accepted.set_result(writer)
            hello = await reader.readexactly(16)
            writer.write(bytes([6, 0, 0, 8]) + hello[4:8])  # answer HELLO, then hang up on FEATURES
            await reader.readexactly(8)
            writer.close()

        server = await asyncio.start_unix_server(handle, path=str(path))
        try:
            with pytest.raises(ConnectionError):
                await OpenFlowConnection.connect(path, timeout=2)
        finally:
            server.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp) / "flaky.mgmt"))


def test_refuses_switch_without_openflow15(ovs):
    ovs.add_bridge("br-old", protocols="OpenFlow10")

    async def main():
        with pytest.raises((OpenFlowError, ConnectionError)):
            await OpenFlowConnection.connect(ovs.paths.mgmt_socket("br-old"), timeout=3)

    asyncio.run(main())
