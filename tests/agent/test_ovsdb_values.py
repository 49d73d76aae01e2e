"""Command values check their input when built and name the bad field and value."""

from ipaddress import ip_address

import pytest

from agent.pods.portids import PodPortIds
from pyantrea_ovsdb import (
    AddBridge,
    AddInternalPort,
    AddSystemPort,
    AddTunnelPort,
    IpfixConfig,
    NetflowConfig,
    SflowConfig,
)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: AddBridge(""), "name must be a device name", id="empty-name"),
        pytest.param(lambda: AddBridge("br-int-is-far-too-long"), "'br-int-is-far-too-long'", id="long-name"),
        pytest.param(lambda: AddBridge("br int"), "no spaces", id="space"),
        pytest.param(lambda: AddBridge("br-int", fail_mode="open"), "fail_mode must be one of", id="fail"),
        pytest.param(
            lambda: AddBridge("br-int", datapath_type="dpdk"),
            "datapath_type must be one of system, netdev, got 'dpdk'",
            id="dp",
        ),
        pytest.param(
            lambda: AddBridge("br-int", protocols=("OpenFlow13",)), "must include OpenFlow15", id="of15"
        ),
        pytest.param(
            lambda: AddBridge("br-int", protocols=("OpenFlow15", "OF9")), "unknown OpenFlow", id="ofx"
        ),
        pytest.param(
            lambda: AddTunnelPort("br-int", "tun0", "vxlan6"), "tunnel_type must be one of", id="tun"
        ),
        pytest.param(
            lambda: AddTunnelPort("br-int", "tun0", "gre", ofport_request=0), "ofport_request", id="of0"
        ),
        pytest.param(
            lambda: AddSystemPort("br-int", "p0", ofport_request=65280), "1..65279, got 65280", id="ofmax"
        ),
        pytest.param(
            lambda: AddInternalPort("br-int", "gw0", mtu=10), "mtu must be in 68..65535, got 10", id="mtu"
        ),
        pytest.param(
            lambda: AddInternalPort("br-int", "gw0", mac="0a:58:0a"), "mac must look like", id="mac"
        ),
        pytest.param(
            lambda: AddInternalPort("br-int", "gw0", mac="01:00:5e:00:00:01"), "unicast", id="mcast"
        ),
        pytest.param(lambda: IpfixConfig(targets=()), "ipfix.targets must name at least one", id="no-target"),
        pytest.param(
            lambda: IpfixConfig(targets=("10.0.0.1",)), "ipfix.targets: '10.0.0.1' is not HOST:PORT", id="t"
        ),
        pytest.param(
            lambda: IpfixConfig(targets=("c:4739",), sampling=0), "ipfix.sampling must be in", id="smp"
        ),
        pytest.param(
            lambda: NetflowConfig(targets=("c:2055",), engine_id=256), "netflow.engine_id", id="eng"
        ),
        pytest.param(lambda: SflowConfig(targets=("c:99999",)), "sflow.targets: 'c:99999'", id="port"),
    ],
)
def test_bad_input_names_the_field(build, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        build()


def test_tunnel_type_and_datapath_accept_plain_strings():
    assert AddTunnelPort("br-int", "tun0", "geneve").tunnel_type == "geneve"
    assert AddBridge("br-int", datapath_type="netdev").datapath_type == "netdev"


def test_pod_ids_round_trip_through_external_ids():
    pod = PodPortIds(
        container_id="abc",
        pod_name="web",
        pod_namespace="shop",
        ips=(ip_address("10.10.0.5"), ip_address("fd00::5")),
        mac="0a:58:0a:0a:00:05",
        if_dev="eth0",
        netns="/var/run/netns/web",
    )
    ids = pod.to_external_ids()
    assert ids["ip-address"] == "10.10.0.5,fd00::5"
    assert PodPortIds.from_external_ids(ids) == pod
    assert PodPortIds.from_external_ids({"iface-id": "x"}) is None
    assert "pod-uid" not in ids, "an unknown pod uid is not written"


def test_a_known_pod_uid_round_trips_through_external_ids():
    uid = "0b6e1c52-3f1e-4d7a-9d5e-0c8f2a1b7e44"
    pod = PodPortIds("abc", "web", "shop", (ip_address("10.10.0.5"),), "0a:58:0a:0a:00:05", "eth0", "/n", uid)
    ids = pod.to_external_ids()
    assert ids["pod-uid"] == uid
    assert PodPortIds.from_external_ids(ids) == pod
