"""The OVSDB client's connection: reconnecting when ovsdb-server restarts, clear errors when it
cannot connect, when the server rejects a transaction, and after the client is closed."""

import asyncio
from dataclasses import dataclass

import pytest
import uvloop

from pyantrea_ovsdb import (
    AddBridge,
    AddInternalPort,
    Command,
    DatapathType,
    GetBridge,
    OvsdbClient,
    OvsdbClosedError,
    OvsdbConnectionError,
    OvsdbTimeoutError,
    OvsdbTransactionError,
)

pytestmark = pytest.mark.ovs
run = asyncio.run


def test_client_reconnects_after_ovsdb_server_restarts(ovs, ovsdb):
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
    ovs.stop_ovsdb()
    ovs.start_ovsdb()

    run(ovsdb.execute(AddInternalPort("br-int", "gw0")))
    assert run(ovsdb.wait_for_ofport("gw0", timeout=30)) > 0
    assert run(ovsdb.execute(GetBridge("br-int"))).ports == ("br-int", "gw0")


def test_transaction_made_while_the_server_is_down_completes_when_it_is_back(ovs, ovsdb):
    ovs.stop_ovsdb()

    async def scenario():
        pending = asyncio.create_task(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
        await asyncio.to_thread(ovs.start_ovsdb)
        await pending

    run(scenario())
    assert ovs.vsctl("list-br").split() == ["br-int"]


def test_transaction_times_out_while_the_server_is_down(ovs):
    client = run(OvsdbClient.connect(ovs.paths.db_remote, timeout=1))
    try:
        ovs.stop_ovsdb()
        with pytest.raises(
            OvsdbTimeoutError,
            match=r"AddBridge\(name='br-int'.*did not complete in time.*is ovsdb-server at unix:.* running",
        ):
            run(client.execute(AddBridge("br-int")))
    finally:
        run(client.close())


def test_connect_to_an_absent_server_fails_clearly(tmp_path):
    remote = f"unix:{tmp_path}/none.sock"
    with pytest.raises(OvsdbConnectionError, match=rf"ovsdb-server at {remote} within 0.5s: .*No such file"):
        run(OvsdbClient.connect(remote, timeout=0.5))


def test_closed_client_refuses_requests(ovs):
    client = run(OvsdbClient.connect(ovs.paths.db_remote))
    run(client.close())
    with pytest.raises(OvsdbClosedError, match="is closed"):
        run(client.execute(GetBridge("br-int")))


@dataclass(frozen=True, slots=True)
class AddPortWithoutInterface(Command[None]):
    """Breaks the schema on purpose: a port must reference an interface."""

    bridge: str

    def run_idl(self, txn):
        port = txn.insert("Port")
        port.name = "broken0"
        txn.bridge(self.bridge).addvalue("ports", port)


def test_server_rejection_is_reported_with_its_reason(ovs, ovsdb):
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
    with pytest.raises(
        OvsdbTransactionError, match=r"rejected \[AddPortWithoutInterface.*integrity violation"
    ):
        run(ovsdb.execute(AddPortWithoutInterface("br-int")))


def test_client_works_from_uvloop(ovs, ovsdb):
    async def scenario():
        await ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV))
        return await ovsdb.execute(GetBridge("br-int"))

    assert uvloop.run(scenario()).datapath_type == "netdev"
