"""The CNI result in each version's format, decoding results of every version (prevResult,
host-local's answers) and appending to a previous plugin's result in a conflist."""

import json
from ipaddress import ip_address, ip_interface, ip_network

import pytest

from cni.errors import CniError, ErrorCode
from cni.result import Dns, Interface, IPConfig, Result, RouteConfig, decode_result, encode_result

POD = Result(
    interfaces=(
        Interface("web-1a2b3c", "aa:bb:cc:00:00:01"),
        Interface("eth0", "aa:bb:cc:00:00:02", "/run/netns/p"),
    ),
    ips=(IPConfig(ip_interface("10.10.1.5/24"), ip_address("10.10.1.1"), 1),),
    routes=(RouteConfig(ip_network("0.0.0.0/0"), ip_address("10.10.1.1")),),
    dns=Dns(nameservers=("10.96.0.10",), search=("default.svc.cluster.local",)),
)


def expected(version, with_ip_version):
    ip = {"interface": 1, "address": "10.10.1.5/24", "gateway": "10.10.1.1"}
    if with_ip_version:
        ip = {"version": "4", **ip}
    return {
        "cniVersion": version,
        "interfaces": [
            {"name": "web-1a2b3c", "mac": "aa:bb:cc:00:00:01"},
            {"name": "eth0", "mac": "aa:bb:cc:00:00:02", "sandbox": "/run/netns/p"},
        ],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.10.1.1"}],
        "dns": {"nameservers": ["10.96.0.10"], "search": ["default.svc.cluster.local"]},
    }


@pytest.mark.parametrize(
    ("version", "with_ip_version"), [("0.3.0", True), ("0.3.1", True), ("0.4.0", True), ("1.0.0", False)]
)
def test_encoding_follows_the_version(version, with_ip_version):
    assert json.loads(encode_result(POD, version)) == expected(version, with_ip_version)


@pytest.mark.parametrize("version", ["0.3.0", "0.3.1", "0.4.0", "1.0.0"])
def test_decoding_reads_every_version_back(version):
    assert (
        decode_result(json.loads(encode_result(POD, version)), "prevResult", ErrorCode.DECODING_FAILURE)
        == POD
    )


def test_an_empty_dns_is_an_empty_object():
    assert json.loads(encode_result(Result(), "1.0.0")) == {"cniVersion": "1.0.0", "dns": {}}


def test_appending_to_a_previous_result_shifts_interface_indices_and_keeps_its_dns():
    previous = Result(
        interfaces=(Interface("lo", sandbox="/run/netns/p"),),
        ips=(IPConfig(ip_interface("127.0.0.1/8"), interface=0),),
        dns=Dns(domain="example"),
    )
    merged = previous.then(POD)
    assert [i.name for i in merged.interfaces] == ["lo", "web-1a2b3c", "eth0"]
    assert [ip.interface for ip in merged.ips] == [0, 2]
    assert merged.routes == POD.routes
    assert merged.dns == Dns(domain="example")
    assert Result().then(POD) == POD


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "prevResult must be a JSON object"),
        ({"ips": [{"address": "10.0.0.1"}]}, "prevResult.ips[0].address: '10.0.0.1' is not"),
        ({"ips": [{"gateway": "10.0.0.1"}]}, "prevResult.ips[0].address: is missing"),
        ({"ips": [{"address": "10.0.0.2/24", "interface": 3}]}, "prevResult.ips[0].interface: 3 is not"),
        (
            {"ips": [{"address": "10.0.0.2/24", "interface": True}]},
            "prevResult.ips[0].interface: must be an int",
        ),
        ({"interfaces": {"name": "eth0"}}, "prevResult.interfaces: must be a list"),
        ({"interfaces": [{"name": 5}]}, "prevResult.interfaces[0].name: must be a string"),
        ({"routes": [{"gw": "10.0.0.1"}]}, "prevResult.routes[0].dst: is missing"),
        ({"dns": {"nameservers": [1]}}, "prevResult.dns.nameservers[0]: must be a string"),
    ],
)
def test_a_malformed_result_names_the_field(document, field):
    with pytest.raises(CniError) as caught:
        decode_result(document, "prevResult", ErrorCode.DECODING_FAILURE)
    assert caught.value.code == ErrorCode.DECODING_FAILURE
    assert caught.value.msg.startswith(field), caught.value.msg
