"""The trace contract (`pyantrea_api.trace`): what the controller sends an agent is what the agent
reads, for a packet from a pod and one from the tunnel; bad fields are named."""

from ipaddress import IPv4Address

import pytest

from pyantrea_api.trace import FromPod, Packet, TraceError, TraceProtocol, TraceRequest, from_tunnel


def test_a_pod_request_reads_back_as_sent():
    packet = Packet(TraceProtocol.TCP, None, IPv4Address("172.16.2.3"), 40000, 80)
    request = TraceRequest(FromPod("web", "client"), packet)
    assert request.to_json() == {
        "source": {"pod": {"namespace": "web", "name": "client"}},
        "packet": {"protocol": "TCP", "dstIP": "172.16.2.3", "srcPort": 40000, "dstPort": 80},
    }
    assert TraceRequest.from_json(request.to_json()) == request


def test_a_tunnel_request_follows_the_packet_as_the_last_hop_left_it():
    leaving = {"dl_src": "0a:58:ac:10:01:01", "dl_dst": "aa:bb:cc:dd:ee:ff", "nw_ttl": "63", "tun_id": "0x0"}
    source = from_tunnel(IPv4Address("192.168.77.1"), leaving)
    packet = Packet(TraceProtocol.UDP, IPv4Address("172.16.1.2"), IPv4Address("172.16.2.3"), 40000, 53)
    body = TraceRequest(source, packet).to_json()
    assert body["source"] == {
        "tunnel": {"src": "192.168.77.1", "tunId": 0, "dlSrc": "0a:58:ac:10:01:01",
                   "dlDst": "aa:bb:cc:dd:ee:ff", "ttl": 63},
    }  # fmt: skip
    assert body["packet"]["srcIP"] == "172.16.1.2"
    assert TraceRequest.from_json(body) == TraceRequest(source, packet)


def test_bad_fields_are_named():
    with pytest.raises(TraceError, match=r"packet.dstPort is required"):
        TraceRequest.from_json({"source": {"pod": {}}, "packet": {"protocol": "tcp", "srcPort": 1}})
    with pytest.raises(TraceError, match=r"source.tunnel.src must be an IPv4 address"):
        TraceRequest.from_json(
            {"source": {"tunnel": {"src": "x"}}, "packet": {"protocol": "ICMP", "dstIP": "10.0.0.1"}}
        )
