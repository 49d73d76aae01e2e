"""Bridges over a real ovsdb-server and ovs-vswitchd: creation as the design shows, adoption,
idempotency, external_ids round-trips (the agent's roundNum)."""

import asyncio

import pytest

from pyantrea_ovsdb import (
    AddBridge,
    AddInternalPort,
    AddTunnelPort,
    DatapathType,
    DeleteBridge,
    FailMode,
    GetBridge,
    RecordExistsError,
    RecordNotFoundError,
    SetBridgeExternalIds,
    TunnelType,
    UnsupportedTunnelError,
)

pytestmark = pytest.mark.ovs
run = asyncio.run


def create_br_int(ovsdb, tunnel_type=TunnelType.VXLAN):
    run(
        ovsdb.transact(
            AddBridge("br-int", datapath_type=DatapathType.NETDEV),
            AddTunnelPort("br-int", "tun0", tunnel_type, ofport_request=1),
            AddInternalPort("br-int", "gw0", mtu=1450, mac="0a:58:0a:0a:00:01", ofport_request=2),
        )
    )


def test_user_sees_the_bridge_the_design_shows(ovs, ovsdb):
    create_br_int(ovsdb)
    assert run(ovsdb.wait_for_ofport("tun0")) == 1
    assert run(ovsdb.wait_for_ofport("gw0")) == 2

    show = ovs.vsctl("show")
    assert "Bridge br-int" in show
    tun0 = show[show.index("Port tun0") :]
    assert "type: vxlan" in tun0
    assert "options: {key=flow, remote_ip=flow}" in tun0
    gw0 = show[show.index("Port gw0") :]
    assert "type: internal" in gw0.splitlines()[2]
    assert ovs.vsctl("get", "Bridge", "br-int", "fail_mode").strip() == "secure"
    assert ovs.vsctl("get", "Bridge", "br-int", "datapath_type").strip() == "netdev"
    assert "OpenFlow15" in ovs.vsctl("get", "Bridge", "br-int", "protocols")
    assert ovs.vsctl("get", "Interface", "gw0", "mtu_request").strip() == "1450"
    assert ovs.vsctl("get", "Interface", "gw0", "mac_in_use").strip() == '"0a:58:0a:0a:00:01"'
    # the bridge answers OpenFlow 1.5 and, for a user's plain ovs-ofctl, OpenFlow 1.0
    assert "OFPT_FEATURES_REPLY (OF1.5)" in ovs.ofctl("show", "br-int")
    assert "OFPT_FEATURES_REPLY" in ovs.ofctl("show", "br-int", version="OpenFlow10")


@pytest.mark.parametrize("tunnel_type", [TunnelType.GENEVE, TunnelType.GRE])
def test_other_tunnel_types(ovs, ovsdb, tunnel_type):
    create_br_int(ovsdb, tunnel_type)
    assert run(ovsdb.wait_for_ofport("tun0")) == 1
    assert ovs.vsctl("get", "Interface", "tun0", "type").strip() == tunnel_type.value
    assert ovs.vsctl("get", "Interface", "tun0", "options").strip() == "{key=flow, remote_ip=flow}"


def test_tunnel_type_can_be_changed_in_place(ovs, ovsdb):
    create_br_int(ovsdb)
    run(ovsdb.execute(AddTunnelPort("br-int", "tun0", TunnelType.GENEVE, ofport_request=1)))
    assert ovs.vsctl("get", "Interface", "tun0", "type").strip() == "geneve"
    assert run(ovsdb.wait_for_ofport("tun0")) == 1


def test_stt_is_refused_on_the_userspace_datapath(ovs, ovsdb):
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV)))
    with pytest.raises(UnsupportedTunnelError, match=r"tunnel_type 'stt'.*netdev.*use vxlan, geneve or gre"):
        run(ovsdb.execute(AddTunnelPort("br-int", "tun0", TunnelType.STT)))
    assert "tun0" not in ovs.vsctl("list-ports", "br-int").split()


def test_add_bridge_is_idempotent(ovs, ovsdb):
    create_br_int(ovsdb)
    create_br_int(ovsdb)
    assert ovs.vsctl("list-br").split() == ["br-int"]
    assert ovs.vsctl("list-ports", "br-int").split() == ["gw0", "tun0"]
    with pytest.raises(RecordExistsError, match="bridge 'br-int' already exists"):
        run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV, may_exist=False)))


def test_existing_bridge_is_adopted(ovs, ovsdb):
    ovs.vsctl(
        "add-br", "br-int", "--", "set", "Bridge", "br-int", "datapath_type=netdev",
        "fail_mode=standalone", "protocols=OpenFlow13", "external_ids:owner=someone",
        "--", "add-port", "br-int", "keep0", "--", "set", "Interface", "keep0", "type=internal",
    )  # fmt: skip
    run(ovsdb.execute(AddBridge("br-int", datapath_type=DatapathType.NETDEV, external_ids={"roundNum": "7"})))

    bridge = run(ovsdb.execute(GetBridge("br-int")))
    assert bridge.fail_mode == "secure"
    assert bridge.protocols == {"OpenFlow10", "OpenFlow13", "OpenFlow15"}
    assert bridge.external_ids == {"owner": "someone", "roundNum": "7"}
    assert bridge.ports == ("br-int", "keep0")
    assert ovs.vsctl("get", "Bridge", "br-int", "fail_mode").strip() == "secure"


def test_uplink_bridge_can_be_standalone(ovs, ovsdb):
    run(ovsdb.execute(AddBridge("br-phy", datapath_type=DatapathType.NETDEV, fail_mode=FailMode.STANDALONE)))
    assert ovs.vsctl("get", "Bridge", "br-phy", "fail_mode").strip() == "standalone"


def test_round_number_round_trips_through_external_ids(ovs, ovsdb):
    create_br_int(ovsdb)
    assert "roundNum" not in run(ovsdb.execute(GetBridge("br-int"))).external_ids

    run(ovsdb.execute(SetBridgeExternalIds("br-int", {"roundNum": "41"})))
    ovs.vsctl("br-set-external-id", "br-int", "other", "x")
    run(ovsdb.execute(SetBridgeExternalIds("br-int", {"roundNum": "42"})))

    assert run(ovsdb.execute(GetBridge("br-int"))).external_ids == {"roundNum": "42", "other": "x"}
    assert ovs.vsctl("br-get-external-id", "br-int", "roundNum").strip() == "42"


def test_external_ids_of_a_missing_bridge(ovsdb):
    assert run(ovsdb.execute(GetBridge("br-none"))) is None
    with pytest.raises(RecordNotFoundError, match="bridge 'br-none' does not exist"):
        run(ovsdb.execute(SetBridgeExternalIds("br-none", {"roundNum": "1"})))


def test_delete_bridge_is_idempotent(ovs, ovsdb):
    create_br_int(ovsdb)
    run(ovsdb.execute(DeleteBridge("br-int")))
    run(ovsdb.execute(DeleteBridge("br-int")))
    assert ovs.vsctl("list-br").split() == []
    assert ovs.vsctl("--columns=name", "list", "Interface").strip() == ""
    with pytest.raises(RecordNotFoundError, match="bridge 'br-int' does not exist"):
        run(ovsdb.execute(DeleteBridge("br-int", if_exists=False)))


def test_a_bad_hwaddr_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"hwaddr must be a MAC address.*'0a:58'"):
        AddBridge("br-phy", hwaddr="0a:58")
