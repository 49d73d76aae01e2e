"""Services and EndpointSlices read from Kubernetes JSON, endpoint choice, group ids."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from agent.proxy.endpoints import categorize, port_endpoints
from agent.proxy.groupids import GroupIds
from agent.proxy.model import (
    Endpoint,
    EndpointSlice,
    ModelError,
    Protocol,
    ServicePort,
    SlicePort,
    service_from_json,
    slice_from_json,
)


def svc(spec: dict, labels: dict | None = None, status: dict | None = None) -> dict:
    return {
        "metadata": {"namespace": "ns", "name": "s", "labels": labels or {}},
        "spec": spec,
        "status": status or {},
    }


def test_a_load_balancer_service_reads_whole():
    service = service_from_json(
        svc(
            {
                "type": "LoadBalancer",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5", "fd00::5"],
                "ports": [{"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 30053}, {"port": 80}],
                "externalIPs": ["192.0.2.1"],
                "externalTrafficPolicy": "Local",
                "internalTrafficPolicy": "Local",
                "sessionAffinity": "ClientIP",
            },
            status={
                "loadBalancer": {
                    "ingress": [{"ip": "198.51.100.1"}, {"ip": "198.51.100.2", "ipMode": "Proxy"}]
                }
            },
        )
    )
    assert service.key == "ns/s"
    assert service.cluster_ips == (IPv4Address("10.96.0.5"),)
    assert service.ports == (ServicePort("dns", Protocol.UDP, 53, 30053), ServicePort("", Protocol.TCP, 80))
    assert service.external_ips == (IPv4Address("192.0.2.1"),)
    assert service.load_balancer_ips == (IPv4Address("198.51.100.1"),)
    assert service.affinity_timeout == 10800
    assert service.external_local and service.internal_local


@pytest.mark.parametrize(
    "obj",
    [
        svc({"type": "ExternalName", "externalName": "example.com"}),
        svc({"clusterIP": "None", "ports": [{"port": 80}]}),
        svc({"clusterIP": "10.96.0.5"}, labels={"service.kubernetes.io/service-proxy-name": "other"}),
    ],
)
def test_services_the_proxy_leaves_alone(obj):
    assert service_from_json(obj) is None


def test_cluster_ip_services_ignore_node_ports_and_external_policy():
    service = service_from_json(
        svc(
            {
                "clusterIP": "10.96.0.5",
                "ports": [{"port": 80, "nodePort": 30000}],
                "externalTrafficPolicy": "Local",
            }
        )
    )
    assert service.ports[0].node_port is None and not service.external_local


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"clusterIP": "10.96.0.5", "ports": [{"port": 0}]}, "port 0 is not a port number"),
        ({"clusterIP": "10.96.0.5", "ports": [{"port": 80, "protocol": "ICMP"}]}, "protocol 'ICMP'"),
        ({"clusterIP": "banana", "ports": []}, "clusterIP 'banana'"),
        (
            {"clusterIP": "10.96.0.5", "sessionAffinity": "ClientIP",
             "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": -1}}},
            "timeoutSeconds -1",
        ),
    ],
)  # fmt: skip
def test_bad_services_name_what_is_wrong(spec, message):
    with pytest.raises(ModelError, match=message) as caught:
        service_from_json(svc(spec))
    assert "ns/s" in str(caught.value)


def test_slices_read_conditions_as_kubernetes_defaults_them():
    obj = {
        "metadata": {
            "namespace": "ns",
            "name": "s-1",
            "labels": {"kubernetes.io/service-name": "s"},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-12-06T12:00:00Z"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080}, {"name": "none", "port": None}],
        "endpoints": [
            {"addresses": ["172.16.0.5"], "nodeName": "n1", "conditions": {}},
            {
                "addresses": ["172.16.0.6"],
                "conditions": {"ready": False, "serving": True, "terminating": True},
            },
        ],
    }
    s = slice_from_json(obj)
    assert s.service_key == "ns/s" and s.ports == (SlicePort("http", Protocol.TCP, 8080),)
    assert s.endpoints == (
        Endpoint(IPv4Address("172.16.0.5"), "n1", True, True, False),
        Endpoint(IPv4Address("172.16.0.6"), None, False, True, True),
    )
    assert s.trigger_time == 1796558400.0
    assert slice_from_json({**obj, "addressType": "IPv6"}) is None
    with pytest.raises(ModelError, match="has no address"):
        slice_from_json({**obj, "endpoints": [{"addresses": []}]})


def eps(*specs) -> EndpointSlice:
    return EndpointSlice(
        "ns", "s-1", "s", (SlicePort("p", Protocol.TCP, 80),),
        tuple(Endpoint(IPv4Address(a), n, r, s, t) for a, n, r, s, t in specs),
    )  # fmt: skip


def test_terminating_endpoints_serve_only_when_none_is_ready():
    port = ServicePort("p", Protocol.TCP, 80)
    draining = eps(("172.16.0.5", "n1", False, True, True), ("172.16.1.5", "n2", False, False, True))
    cluster, local = categorize(port_endpoints(port, [draining]), "n1")
    assert [str(e.ip) for e in cluster] == ["172.16.0.5"] and [str(e.ip) for e in local] == ["172.16.0.5"]
    mixed = eps(("172.16.0.5", "n1", False, True, True), ("172.16.1.5", "n2", True, True, False))
    cluster, local = categorize(port_endpoints(port, [mixed]), "n1")
    assert [str(e.ip) for e in cluster] == ["172.16.1.5"] and [str(e.ip) for e in local] == ["172.16.0.5"]
    unready = eps(("172.16.0.5", "n1", False, False, False))
    assert categorize(port_endpoints(port, [unready]), "n1") == ([], [])
    other_port = ServicePort("q", Protocol.TCP, 80)
    assert port_endpoints(other_port, [mixed]) == []


def test_group_ids_are_dense_and_reused_last_released_first():
    ids = GroupIds()
    assert [ids.get(k) for k in "abc"] == [1, 2, 3]
    assert ids.get("a") == 1
    ids.release("a")
    ids.release("c")
    assert ids.get("d") == 3 and ids.get("e") == 1 and ids.get("f") == 4
    assert len(ids) == 4 and ids.peek("zz") is None


def test_the_node_port_redirect_covers_every_protocol_in_and_out_of_the_node():
    from agent.proxy.noderedirect import ruleset

    text = ruleset([IPv4Address("192.168.77.1"), IPv4Address("10.0.0.1"), IPv4Address("192.168.77.1")])
    assert text.startswith("table ip pyantrea-proxy\ndelete table ip pyantrea-proxy\n")  # replaced whole
    for chain in ("prerouting", "output"):
        assert f"chain {chain} {{" in text
    for proto in ("tcp", "udp", "sctp"):
        line = f"ip daddr {{ 10.0.0.1, 192.168.77.1 }} {proto} dport 30000-32767 dnat to 169.254.0.252"
        assert text.count(line) == 2


def test_the_node_routes_every_external_address_of_every_service_once():
    from agent.proxy.noderedirect import external_addresses

    both = service_from_json(
        svc(
            {
                "type": "LoadBalancer",
                "clusterIP": "10.96.0.5",
                "ports": [{"port": 80}],
                "externalIPs": ["192.0.2.1"],
            },
            status={
                "loadBalancer": {
                    "ingress": [{"ip": "198.51.100.1"}, {"ip": "198.51.100.2", "ipMode": "Proxy"}]
                }
            },
        )
    )
    shared = service_from_json(
        svc({"clusterIP": "10.96.0.6", "ports": [{"port": 81}], "externalIPs": ["192.0.2.1"]})
    )
    plain = service_from_json(svc({"clusterIP": "10.96.0.7", "ports": [{"port": 82}]}))
    assert both is not None and shared is not None and plain is not None
    addresses = {IPv4Address("192.0.2.1"), IPv4Address("198.51.100.1")}  # not the Proxy-mode ingress
    assert external_addresses([both, shared, plain]) == addresses
    assert external_addresses([plain]) == frozenset()
