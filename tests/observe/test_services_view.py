"""The controller's Services document (`controlplane.dashboard.views.services_view`), from what
each agent programmed: one entry per Service, per port the endpoints of all nodes together and
each node's own, and the agents that did not answer."""

from __future__ import annotations

from controlplane.dashboard.views import services_view
from pyantrea_api.services import ProgrammedPort, ProgrammedService


def programmed(cluster: tuple[str, ...], local: tuple[str, ...] = ()) -> ProgrammedService:
    port = ProgrammedPort("http", "TCP", 80, 30080, cluster, local, 1 if cluster else None, None)
    return ProgrammedService("web", "api", ("10.96.0.50",), ("192.0.2.9",), None, False, False, (port,))


def test_each_nodes_endpoints_are_kept_and_merged_per_port():
    document = services_view(
        {
            "node2": [programmed(("172.16.0.4:80",), ("172.16.1.5:80",))],
            "node1": [programmed(("172.16.0.4:80", "172.16.1.5:80"))],
        },
        {"node3": "the agent of node node3 does not answer"},
    )
    (service,) = document["services"]
    assert (service["namespace"], service["name"], service["nodes"]) == ("web", "api", ["node1", "node2"])
    assert service["clusterIPs"] == ["10.96.0.50"] and service["externalIPs"] == ["192.0.2.9"]
    (port,) = service["ports"]
    assert (port["name"], port["port"], port["protocol"], port["nodePort"]) == ("http", 80, "TCP", 30080)
    assert port["endpoints"] == ["172.16.0.4:80", "172.16.1.5:80"]
    assert port["byNode"] == {
        "node1": {"cluster": ["172.16.0.4:80", "172.16.1.5:80"], "local": []},
        "node2": {"cluster": ["172.16.0.4:80"], "local": ["172.16.1.5:80"]},
    }
    assert document["unreachable"] == {"node3": "the agent of node node3 does not answer"}


def test_a_service_without_endpoints_is_listed_with_none():
    (service,) = services_view({"node1": [programmed(())]}, {})["services"]
    assert service["ports"][0]["endpoints"] == [] and service["ports"][0]["byNode"]["node1"]["cluster"] == []
    assert services_view({}, {}) == {"services": [], "unreachable": {}}
