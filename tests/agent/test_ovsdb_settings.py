"""Switch-wide settings over a real ovsdb-server: flow-restore-wait, the recorded OVS version,
and a bridge's IPFIX / NetFlow / sFlow export."""

import asyncio

import pytest

from lab.ovs import OvsError
from pyantrea_ovsdb import (
    AddBridge,
    DatapathType,
    FlowExport,
    GetFlowExport,
    GetOvsVersion,
    IpfixConfig,
    NetflowConfig,
    RecordNotFoundError,
    SetFlowExport,
    SetFlowRestoreWait,
    SflowConfig,
)

pytestmark = pytest.mark.ovs
run = asyncio.run


def test_flow_restore_wait_is_set_and_cleared(ovs, ovsdb):
    run(ovsdb.execute(SetFlowRestoreWait(True)))
    assert ovs.vsctl("get", "Open_vSwitch", ".", "other_config:flow-restore-wait").strip() == '"true"'
    run(ovsdb.execute(SetFlowRestoreWait(False)))
    run(ovsdb.execute(SetFlowRestoreWait(False)))
    with pytest.raises(OvsError, match="no key"):
        ovs.vsctl("get", "Open_vSwitch", ".", "other_config:flow-restore-wait")


def test_ovs_version_is_read_once_recorded(ovs, ovsdb):
    assert run(ovsdb.execute(GetOvsVersion())) is None
    # what ovs-ctl does when it starts Open vSwitch
    ovs.vsctl("set", "Open_vSwitch", ".", 'ovs_version="3.1.0"')
    assert run(ovsdb.execute(GetOvsVersion())) == "3.1.0"


EXPORT = FlowExport(
    ipfix=IpfixConfig(targets=("10.0.0.5:4739",), sampling=64, obs_domain_id=7, cache_active_timeout=60),
    netflow=NetflowConfig(targets=("10.0.0.5:2055",), active_timeout=30, engine_id=3),
    sflow=SflowConfig(targets=("10.0.0.5:6343", "[fd00::5]:6343"), sampling=100, polling=10, agent="gw0"),
)


def test_flow_export_round_trips(ovs, ovsdb):
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
    run(ovsdb.execute(SetFlowExport("br-int", EXPORT)))

    assert run(ovsdb.execute(GetFlowExport("br-int"))) == FlowExport(
        ipfix=EXPORT.ipfix,
        netflow=EXPORT.netflow,
        sflow=SflowConfig(targets=("10.0.0.5:6343", "[fd00::5]:6343"), sampling=100, polling=10, agent="gw0"),
    )
    assert (
        ovs.vsctl("get", "IPFIX", ovs.vsctl("get", "Bridge", "br-int", "ipfix").strip(), "sampling").strip()
        == "64"
    )
    assert '"10.0.0.5:2055"' in ovs.vsctl("list", "NetFlow")


def test_flow_export_is_updated_in_place_and_switched_off(ovs, ovsdb):
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
    run(ovsdb.execute(SetFlowExport("br-int", EXPORT)))
    ipfix_uuid = ovs.vsctl("get", "Bridge", "br-int", "ipfix").strip()

    ipfix = IpfixConfig(targets=("10.0.0.6:4739",), sampling=32)
    run(ovsdb.execute(SetFlowExport("br-int", FlowExport(ipfix=ipfix))))

    assert run(ovsdb.execute(GetFlowExport("br-int"))) == FlowExport(ipfix=ipfix)
    assert ovs.vsctl("get", "Bridge", "br-int", "ipfix").strip() == ipfix_uuid
    assert ovs.vsctl("list", "NetFlow").strip() == ""
    assert ovs.vsctl("list", "sFlow").strip() == ""

    run(ovsdb.execute(SetFlowExport("br-int", FlowExport())))
    assert ovs.vsctl("list", "IPFIX").strip() == ""


def test_flow_export_of_a_missing_bridge(ovsdb):
    with pytest.raises(RecordNotFoundError, match="bridge 'br-none' does not exist"):
        run(ovsdb.execute(SetFlowExport("br-none", EXPORT)))
