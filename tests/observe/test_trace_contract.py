"""The trace contract (`pyantrea_api.trace`): what the controller sends an agent is what the agent
reads, for a packet from a pod and one from the tunnel; the agents' and the cluster's answers and
the user's query read back as written; bad fields are named. And the Services document an
agent serves (`pyantrea_api.services`)."""

import json
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyantrea_api.objects import Direction
from pyantrea_api.services import ProgrammedPort, ProgrammedService, ServicesError, services_from_json
from pyantrea_api.trace import (
    ChosenBy,
    ClusterTrace,
    Endpoint,
    FromPod,
    HopTrace,
    Packet,
    PolicyDecision,
    Port,
    PortRole,
    RuleRef,
    ServiceHop,
    TraceError,
    TraceProtocol,
    TraceQuery,
    TraceRequest,
    TraceStep,
    Verdict,
    from_tunnel,
)


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


# -- the answers, the user's query, and the Services document -----------------------------------

ENDPOINTS = st.builds(
    Endpoint,
    st.builds(IPv4Address, st.integers(0, 2**32 - 1)),
    st.one_of(st.none(), st.integers(1, 65535)),
)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


B_ENDPOINT = Endpoint(IPv4Address("172.16.1.5"), 8080)


def service_hop(endpoint: Endpoint | None = B_ENDPOINT) -> ServiceHop:
    return ServiceHop(
        service="web/api", port_name="http", protocol="TCP", frontend="10.96.0.50:80",
        endpoints=(Endpoint(IPv4Address("172.16.0.4"), 8080), Endpoint(IPv4Address("172.16.1.5"), 8080)),
        endpoint=endpoint, chosen_by=ChosenBy.PINNED if endpoint else None,
        endpoint_pod="web/b" if endpoint else None, endpoint_node="node2" if endpoint else None,
    )  # fmt: skip


DENIED = PolicyDecision(
    Direction.OUT, False, (RuleRef("", "guard", "egress[0]:no", "Admin", "Deny"),), "Admin", "Deny"
)


def hop(service: ServiceHop | None = None) -> HopTrace:
    return HopTrace(
        node="node1", flow="tcp,in_port=3", ovs_trace="bridge(...)",
        steps=(TraceStep(0, "Classifier", 190, "in_port=3", ("resubmit(,10)",), ()),
               TraceStep(34, "ServiceLB", None, "", (), ())),
        policies=(PolicyDecision(Direction.IN, True, (RuleRef("web", "allow", "ingress[0]"),)), DENIED),
        verdict=Verdict.TUNNELED, reason="sent through tun0", output=Port(1, PortRole.TUNNEL, "tun0"),
        tunnel_destination="192.168.77.2", packet={"dl_src": "0a:58:ac:10:00:01", "nw_ttl": "63"},
        service=service,
    )  # fmt: skip


def test_a_cluster_trace_through_a_service_reads_back_as_written():
    answer = ClusterTrace(
        "web/client", "172.16.0.3", "10.96.0.50", "10.96.0.50", "web/b", TraceProtocol.TCP, 80,
        Verdict.DELIVERED, "delivered to pod web/b (port 5)", (hop(service_hop()), hop()),
    )  # fmt: skip
    body = json.loads(json.dumps(answer.to_json()))
    assert ClusterTrace.from_json(body) == answer
    assert body["service"]["endpoint"] == "172.16.1.5:8080" and body["service"]["chosenBy"] == "pinned"
    allowed = {"namespace": "web", "name": "allow", "rule": "ingress[0]"}
    assert body["hops"][0]["policies"][0] == {"direction": "Ingress", "allowed": True, "rules": [allowed]}
    assert body["hops"][0]["output"] == {"ofport": 1, "role": "tunnel", "name": "tun0"}
    assert service_hop().text == (
        "Service web/api http/80 (10.96.0.50:80) -> endpoint 172.16.1.5:8080 (pod web/b on node2)"
    )
    assert service_hop(None).text == "Service web/api http/80 (10.96.0.50:80): no endpoint"


def test_bad_answers_name_the_field():
    body = hop(service_hop()).to_json()
    body["service"]["endpoint"] = "172.16.1.5:http"
    with pytest.raises(
        TraceError, match=r"hops\[0\]\.service\.endpoint must be an endpoint as IP or IP:PORT"
    ):
        ClusterTrace.from_json(
            {"source": "a/b", "sourceIP": "1.2.3.4", "destination": "x", "destinationIP": "1.2.3.5",
             "destinationPod": None, "protocol": "TCP", "port": 80, "verdict": "Delivered", "reason": "",
             "hops": [body]}
        )  # fmt: skip
    with pytest.raises(TraceError, match=r"hop\.verdict must be one of Delivered, .*, got 'Lost'"):
        HopTrace.from_json({**hop().to_json(), "verdict": "Lost"})
    with pytest.raises(TraceError, match=r"hop\.policies\[0\]\.direction must be Ingress or Egress"):
        HopTrace.from_json(
            {**hop().to_json(), "policies": [{"direction": "Up", "allowed": True, "rules": []}]}
        )


def test_the_users_query_is_checked_field_by_field():
    query = TraceQuery.from_json({"source": "web/client", "destination": "10.96.0.50", "port": 80,
                                  "endpoint": "172.16.1.5"})  # fmt: skip
    assert query.endpoint == Endpoint(IPv4Address("172.16.1.5")) and query.protocol is TraceProtocol.TCP
    assert TraceQuery.from_json(query.to_json()) == query
    for body, message in (
        ({"source": "client", "destination": "x", "port": 80}, "source must be a pod as NAMESPACE/NAME"),
        ({"source": "a/b", "destination": "x"}, "port is required for TCP"),
        ({"source": "a/b", "destination": "x", "port": 70000}, "port must be a port number 1..65535"),
        (
            {"source": "a/b", "destination": "x", "port": 80, "protocol": "IGMP"},
            "protocol must be one of TCP",
        ),
        (
            {"source": "a/b", "destination": "x", "port": 80, "endpoint": "pod-b"},
            "endpoint must be an endpoint",
        ),
        ({"source": "a/b", "destination": "x", "port": 80, "endpoint": "1.2.3.4:0"}, "endpoint port must be"),
    ):
        with pytest.raises(TraceError, match=message):
            TraceQuery.from_json(body)


@given(
    endpoint=st.one_of(st.none(), ENDPOINTS),
    endpoints=st.lists(ENDPOINTS, max_size=4),
    chosen=st.one_of(st.none(), st.sampled_from(ChosenBy)),
    name=NAMES,
    port=st.integers(1, 65535),
)
def test_any_service_hop_and_query_read_back_as_written(endpoint, endpoints, chosen, name, port):
    service = ServiceHop(f"ns/{name}", name, "UDP", f"10.96.0.1:{port}", tuple(endpoints), endpoint, chosen)
    assert ServiceHop.from_json(json.loads(json.dumps(service.to_json())), "service") == service
    query = TraceQuery(("ns", name), "10.96.0.1", TraceProtocol.UDP, port, 40000, endpoint)
    assert TraceQuery.from_json(json.loads(json.dumps(query.to_json()))) == query
    packet = Packet(TraceProtocol.UDP, None, IPv4Address("10.96.0.1"), 1, port)
    request = TraceRequest(FromPod("ns", name), packet, endpoint)
    assert TraceRequest.from_json(request.to_json()) == request


def test_the_programmed_services_document_reads_back_and_names_bad_fields():
    service = ProgrammedService(
        "web", "api", ("10.96.0.50",), (), 600, False, True,
        (ProgrammedPort("http", "TCP", 80, 30080, ("172.16.0.4:8080",), (), 3, None),),
    )  # fmt: skip
    assert services_from_json(json.loads(json.dumps([service.to_json()]))) == [service]
    body = service.to_json()
    body["ports"][0]["port"] = "80"
    with pytest.raises(ServicesError, match=r"node n1\[0\]\.ports\[0\]\.port must be a int, got '80'"):
        services_from_json([body], "node n1")
    with pytest.raises(ServicesError, match=r"the answer must be a list of Services"):
        services_from_json({"services": []})
