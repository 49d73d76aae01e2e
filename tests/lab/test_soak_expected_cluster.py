"""The soak's independent evaluation of ClusterNetworkPolicy tiers and of ClusterIP Services,
case by case from the v1beta1 API reference (network-policy-api v0.3.0) and kube-proxy's
endpoint rules."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from lab.soak.expected import (
    PodView,
    ServicePort,
    ServiceVerdict,
    Undetermined,
    expected_matrix,
    reachable,
    service_verdict,
)

NAMESPACES = {"a": {"team": "a", "soak": "yes"}, "b": {"team": "b", "soak": "yes"}}


def pod(key: str, ip: str, **labels: str) -> PodView:
    namespace, name = key.split("/")
    return PodView(namespace, name, labels, IPv4Address(ip), {"http": (80, "TCP")})


WEB = pod("a/web", "172.16.0.2", app="web")
DB = pod("a/db", "172.16.1.2", app="db")
OTHER = pod("b/x", "172.16.2.2", app="web")
TEAM_B = {"namespaces": {"matchLabels": {"team": "b"}}}
EVERYONE = {"namespaces": {}}


def cnp(tier: str, priority: int, subject: dict, *, ingress=None, egress=None, name: str = "c") -> dict:
    spec: dict = {"tier": tier, "priority": priority, "subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"metadata": {"name": name}, "spec": spec}


def rule(
    action: str, peers: list[dict], protocols: list[dict] | None = None, *, egress: bool = False
) -> dict:
    found: dict = {"action": action, ("to" if egress else "from"): peers}
    if protocols is not None:
        found["protocols"] = protocols
    return found


DB_SUBJECT = {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}}
ISOLATE_DB = {
    "metadata": {"name": "np", "namespace": "a"},
    "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {}}]}]},
}
"""A NetworkPolicy: db accepts its own namespace only."""


def allowed(source: PodView, destination: PodView, *cluster: dict, policies=(), port: int = 80) -> bool:
    return reachable(
        source, destination, list(policies), NAMESPACES, port=port, cluster_policies=list(cluster)
    )


def test_admin_decides_before_network_policy_and_baseline_after_it():
    deny_all = cnp("Admin", 1, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])])
    assert not allowed(WEB, DB, deny_all, policies=[ISOLATE_DB])  # an Admin Deny beats an allow
    accept_b = cnp("Admin", 1, DB_SUBJECT, ingress=[rule("Accept", [TEAM_B])])
    assert allowed(OTHER, DB, accept_b, policies=[ISOLATE_DB])  # an Admin Accept beats isolation
    baseline_deny = cnp("Baseline", 1, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])])
    assert allowed(WEB, DB, baseline_deny, policies=[ISOLATE_DB])  # NetworkPolicy decides first
    assert not allowed(OTHER, DB, baseline_deny, policies=[ISOLATE_DB])  # it isolates: final
    assert not allowed(WEB, DB, baseline_deny)  # no NetworkPolicy selects db: Baseline decides
    assert allowed(WEB, OTHER, baseline_deny)  # not its subject


def test_pass_skips_the_rest_of_the_tier():
    passing = cnp("Admin", 1, DB_SUBJECT, ingress=[rule("Pass", [TEAM_B])], name="pass")
    deny = cnp("Admin", 2, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])], name="deny")
    baseline_accept = cnp("Baseline", 5, DB_SUBJECT, ingress=[rule("Accept", [EVERYONE])], name="ba")
    baseline_deny = cnp("Baseline", 6, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])], name="bd")
    assert allowed(OTHER, DB, passing, deny)  # passed over the Deny of priority 2: default allow
    assert not allowed(WEB, DB, passing, deny)  # not passed: denied
    assert not allowed(OTHER, DB, passing, deny, policies=[ISOLATE_DB])  # passed to NetworkPolicy
    assert not allowed(OTHER, DB, passing, baseline_deny)  # passed on to Baseline
    assert allowed(OTHER, DB, passing, baseline_accept, baseline_deny)
    baseline_pass = cnp("Baseline", 1, DB_SUBJECT, ingress=[rule("Pass", [EVERYONE])], name="bp")
    assert allowed(WEB, DB, baseline_pass, baseline_deny)  # a Baseline Pass leaves it to the default


def test_lower_priority_values_first_and_rules_in_written_order():
    accept = cnp("Admin", 3, DB_SUBJECT, ingress=[rule("Accept", [EVERYONE])], name="accept")
    deny = cnp("Admin", 7, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])], name="deny")
    assert allowed(WEB, DB, accept, deny) and allowed(WEB, DB, deny, accept)
    ordered = cnp("Admin", 1, DB_SUBJECT, ingress=[rule("Deny", [TEAM_B]), rule("Accept", [EVERYONE])])
    assert not allowed(OTHER, DB, ordered, policies=[ISOLATE_DB]) and allowed(WEB, DB, ordered)


def test_equal_priorities_that_disagree_are_undetermined_and_left_open_in_the_matrix():
    accept = cnp("Admin", 3, DB_SUBJECT, ingress=[rule("Accept", [EVERYONE])], name="accept")
    deny = cnp("Admin", 3, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])], name="deny")
    with pytest.raises(Undetermined):
        allowed(WEB, DB, accept, deny)
    matrix = expected_matrix([WEB, DB], [], NAMESPACES, port=80, cluster_policies=[accept, deny])
    assert matrix["a/web"] == {"a/web": True, "a/db": None}
    agree = cnp("Admin", 3, DB_SUBJECT, ingress=[rule("Accept", [EVERYONE])], name="agree")
    assert allowed(WEB, DB, accept, agree)


@pytest.mark.parametrize(
    ("subject", "web", "other"),
    [
        ({"namespaces": {"matchLabels": {"team": "b"}}}, False, True),
        ({"namespaces": {"matchLabels": {"soak": "yes"}}}, True, True),
        ({"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}}, True, True),
        ({"pods": {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {}}}, True, False),
    ],
)
def test_subjects(subject, web, other):
    deny = cnp("Admin", 1, subject, ingress=[rule("Deny", [EVERYONE])])
    assert (not allowed(DB, WEB, deny), not allowed(DB, OTHER, deny)) == (web, other)


@pytest.mark.parametrize(
    ("peer", "web", "other"),
    [
        ({"namespaces": {"matchLabels": {"team": "b"}}}, False, True),
        ({"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}}, True, True),
        ({"networks": ["172.16.2.0/24"]}, False, True),
        ({"networks": ["172.16.0.0/16"]}, True, True),
        ({"nodes": {}}, False, False),  # node addresses: no pod's
        ({"domainNames": ["example.com"]}, False, False),  # not resolved: matches nothing
    ],
)
def test_egress_peers(peer, web, other):
    deny = cnp("Admin", 1, DB_SUBJECT, egress=[rule("Deny", [peer], egress=True)])
    assert (not allowed(DB, WEB, deny), not allowed(DB, OTHER, deny)) == (web, other)


@pytest.mark.parametrize(
    ("protocols", "tcp80"),
    [
        (None, True),
        ([{"tcp": {"destinationPort": {"number": 80}}}], True),
        ([{"tcp": {"destinationPort": {"number": 81}}}], False),
        ([{"tcp": {"destinationPort": {"range": {"start": 79, "end": 81}}}}], True),
        ([{"udp": {"destinationPort": {"number": 80}}}], False),
        ([{"udp": {"destinationPort": {"number": 80}}}, {"tcp": {}}], True),
        ([{"destinationNamedPort": "http"}], True),
        ([{"destinationNamedPort": "https"}], False),
    ],
)
def test_protocols(protocols, tcp80):
    deny = cnp("Admin", 1, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE], protocols)])
    assert (not allowed(WEB, DB, deny)) is tcp80


def test_egress_and_ingress_are_decided_apart():
    """An Admin Accept of the source's egress does not decide the destination's ingress."""
    accept_out = cnp(
        "Admin", 1, {"namespaces": {}}, egress=[rule("Accept", [EVERYONE], egress=True)], name="o"
    )
    deny_in = cnp("Baseline", 1, DB_SUBJECT, ingress=[rule("Deny", [EVERYONE])], name="i")
    assert not allowed(WEB, DB, accept_out, deny_in)
    assert allowed(DB, WEB, accept_out, deny_in)


# -- Services --------------------------------------------------------------------------------------


def service(selector: dict[str, str], *ports: tuple[int, int | str], namespace: str = "a") -> dict:
    return {
        "metadata": {"name": "s", "namespace": namespace},
        "spec": {
            "selector": selector,
            "clusterIP": "10.96.0.9",
            "ports": [{"port": port, "targetPort": target, "protocol": "TCP"} for port, target in ports],
        },
    }


def pods_subject(**labels: str) -> dict:
    return {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": labels}}}


WEB2 = pod("a/web2", "172.16.2.3", app="web", tier="back")
PODS = [WEB, DB, OTHER, WEB2]


def verdict(source: PodView, svc: dict, *cluster: dict, policies=()) -> ServiceVerdict:
    (port,) = ServicePort.from_k8s(svc)
    return service_verdict(source, port, PODS, list(policies), NAMESPACES, cluster_policies=list(cluster))


def test_service_endpoints_are_the_selected_pods_of_its_namespace_with_the_target_port():
    (by_number,) = ServicePort.from_k8s(service({"app": "web"}, (8080, 80)))
    assert by_number.endpoints(PODS) == {"a/web": 80, "a/web2": 80}
    (by_name,) = ServicePort.from_k8s(service({"app": "web"}, (8080, "http")))
    assert by_name.endpoints(PODS) == {"a/web": 80, "a/web2": 80}
    (unnamed,) = ServicePort.from_k8s(service({"app": "web"}, (8080, "grpc")))
    assert unnamed.endpoints(PODS) == {}
    assert ServicePort.from_k8s(service({}, (8080, 80))) == []  # no selector: no endpoints of its own


def test_a_service_is_judged_as_its_endpoints_when_they_agree():
    web = service({"app": "web"}, (8080, "http"))
    assert verdict(DB, web) is ServiceVerdict.REACHABLE
    deny_web = cnp("Admin", 1, pods_subject(app="web"), ingress=[rule("Deny", [EVERYONE])])
    assert verdict(DB, web, deny_web) is ServiceVerdict.DROPPED
    deny_back = cnp("Admin", 1, pods_subject(tier="back"), ingress=[rule("Deny", [EVERYONE])])
    assert verdict(DB, web, deny_back) is ServiceVerdict.OPEN  # web2 denies, web accepts
    assert verdict(DB, service({"app": "none"}, (8080, 80))) is ServiceVerdict.REFUSED
    assert verdict(WEB, web) is ServiceVerdict.OPEN  # hairpin: not judged


def test_policies_see_the_target_port_not_the_service_port():
    deny_80 = cnp("Admin", 1, {"namespaces": {}}, ingress=[
        rule("Deny", [EVERYONE], [{"tcp": {"destinationPort": {"number": 80}}}])])  # fmt: skip
    assert verdict(DB, service({"app": "web"}, (80, 80)), deny_80) is ServiceVerdict.DROPPED
    assert verdict(DB, service({"app": "web"}, (81, 80)), deny_80) is ServiceVerdict.DROPPED
