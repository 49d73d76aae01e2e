"""The proxy's computation held to an independent reading of the Kubernetes rules.

Random Services and EndpointSlices (as the API server serves them, JSON) go through the model
and the incremental state, twice (a first world, then a changed one); the flows and groups it
hands out are applied as the FlowClient would, and every way into every Service (cluster IP,
externalIP, LoadBalancer IP, NodePort; from a pod, from the gateway, a pod reaching itself) is
evaluated through the tables (`flowsim`). The endpoints reached must be exactly those that
kube-proxy's rules, computed here straight from the JSON, choose.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.proxy.model import service_from_json, slice_from_json
from agent.proxy.state import ProxyChange, ProxyState, fixed_flows
from tests.proxy.flowsim import Datapath, Outcome

NODE = "n1"
NODE_IP = "192.168.77.101"
GATEWAY_IP = "172.16.0.1"
PROTO = {"TCP": 6, "UDP": 17, "SCTP": 132}
L4_DST = {"TCP": "tcp_dst", "UDP": "udp_dst", "SCTP": "sctp_dst"}


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


# -- random worlds ------------------------------------------------------------------------------


@st.composite
def services(draw, index: int):
    kind = draw(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"]))
    names = draw(st.lists(st.sampled_from(["", "a", "b"]), min_size=1, max_size=2, unique=True))
    ports = []
    for j, name in enumerate(names):
        port = {"name": name, "protocol": draw(st.sampled_from(list(PROTO))), "port": 80 + j}
        if kind != "ClusterIP":
            port["nodePort"] = 30000 + index * 10 + j
        ports.append(port)
    spec = {"type": kind, "clusterIP": f"10.96.0.{index + 1}", "ports": ports}
    if draw(st.booleans()):
        spec["externalIPs"] = [f"192.0.2.{index + 10}"]
    if draw(st.booleans()):
        spec["internalTrafficPolicy"] = "Local"
    if kind != "ClusterIP" and draw(st.booleans()):
        spec["externalTrafficPolicy"] = "Local"
    if draw(st.booleans()):
        spec["sessionAffinity"] = "ClientIP"
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": draw(st.integers(1, 86400))}}
    status = {}
    if kind == "LoadBalancer" and draw(st.booleans()):
        status = {"loadBalancer": {"ingress": [{"ip": f"198.51.100.{index + 10}"}]}}
    return {"metadata": {"namespace": "ns", "name": f"s{index}"}, "spec": spec, "status": status}


@st.composite
def endpoints(draw):
    node = draw(st.sampled_from(["n1", "n2", None]))
    subnet = {"n1": "172.16.0", "n2": "172.16.1", None: "172.16.2"}[node]
    conditions = {}
    for name in ("ready", "serving", "terminating"):
        value = draw(st.sampled_from([None, True, False]))
        if value is not None:
            conditions[name] = value
    endpoint = {"addresses": [f"{subnet}.{draw(st.integers(2, 6))}"], "conditions": conditions}
    if node is not None:
        endpoint["nodeName"] = node
    return endpoint


@st.composite
def slices(draw, service: dict, index: int):
    ports = [
        {"name": p["name"], "protocol": p["protocol"], "port": draw(st.sampled_from([8080, 8081, 53]))}
        for p in service["spec"]["ports"]
        if draw(st.booleans())
    ]
    return {
        "metadata": {
            "namespace": "ns",
            "name": f"{service['metadata']['name']}-{index}",
            "labels": {"kubernetes.io/service-name": service["metadata"]["name"]},
        },
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": draw(st.lists(endpoints(), max_size=4)),
    }


@st.composite
def worlds(draw):
    svcs = [draw(services(i)) for i in draw(st.lists(st.integers(0, 3), max_size=3, unique=True))]
    sls = []
    for svc in svcs:
        sls += [draw(slices(svc, j)) for j in range(draw(st.integers(0, 2)))]
    return svcs, sls


# -- kube-proxy's rules, read straight from the JSON ----------------------------------------------


def endpoint_sets(service: dict, port: dict, all_slices: list[dict]) -> tuple[list, list]:
    found: dict = {}
    for s in all_slices:
        if s["metadata"]["labels"]["kubernetes.io/service-name"] != service["metadata"]["name"]:
            continue
        for sp in s["ports"]:
            if sp["name"] != port["name"] or sp["protocol"] != port["protocol"]:
                continue
            for e in s["endpoints"]:
                c = e["conditions"]
                ready = c.get("ready", True)
                record = (
                    e["addresses"][0],
                    sp["port"],
                    e.get("nodeName"),
                    ready,
                    c.get("serving", ready),
                    c.get("terminating", False),
                )
                key = record[:2]
                if key not in found or (ready and not found[key][3]):
                    found[key] = record

    def usable(records):
        ready = [r for r in records if r[3]]
        return ready or [r for r in records if r[4] and r[5]]

    everything = list(found.values())
    return usable(everything), usable([r for r in everything if r[2] == NODE])


def expected(service, port, all_slices, *, external, source, src) -> set[Outcome]:
    spec = service["spec"]
    cluster, local = endpoint_sets(service, port, all_slices)
    if external:
        local_policy = spec.get("externalTrafficPolicy") == "Local" and source != "pod"
    else:
        local_policy = spec.get("internalTrafficPolicy") == "Local"
    chosen = local if local_policy else cluster
    if not chosen:
        return {Outcome("reject")}
    has_external = bool(spec.get("externalIPs")) or "nodePort" in port or bool(service["status"])
    snat = has_external and spec.get("externalTrafficPolicy") != "Local"
    result = set()
    for address, target, node, *_ in chosen:
        mark = 0x10
        if node == NODE and address == src:
            mark |= 0x40
        elif node != NODE and external and source == "gateway" and snat:
            mark |= 0x80
        result.add(Outcome("dnat", ip(address), target, mark))
    return result


def frontends(service: dict, port: dict):
    spec = service["spec"]
    yield spec["clusterIP"], port["port"], False
    for address in spec.get("externalIPs", []):
        yield address, port["port"], True
    for ingress in (service["status"].get("loadBalancer") or {}).get("ingress", []):
        yield ingress["ip"], port["port"], True
    if "nodePort" in port:
        yield NODE_IP, port["nodePort"], True


def sources(service: dict, port: dict, all_slices: list[dict]):
    yield "pod", "172.16.0.9", 3
    yield "gateway", "10.0.0.7", 2
    cluster, local = endpoint_sets(service, port, all_slices)
    for address, _, node, *_ in cluster + local:
        if node == NODE:
            yield "pod", address, 3


# -- the check ----------------------------------------------------------------------------------


class Switch:
    """What the FlowClient would hold after each change."""

    def __init__(self) -> None:
        self.flows: dict = {}
        self.groups: dict = {}

    def apply(self, change: ProxyChange) -> None:
        for key in change.remove:
            del self.flows[key]
        for flow in change.put:
            self.flows[flow.key] = flow
        for group_id in change.remove_groups:
            del self.groups[group_id]
        for group in change.put_groups:
            self.groups[group.group_id] = group


def load(state: ProxyState, svcs: list[dict], sls: list[dict]) -> None:
    for svc in svcs:
        state.set_service(service_from_json(svc))
    for s in sls:
        state.set_slice(slice_from_json(s))


def check(switch: Switch, state: ProxyState, svcs: list[dict], sls: list[dict]) -> None:
    fixed = fixed_flows(ipaddress.IPv4Address(GATEWAY_IP), [ipaddress.IPv4Address(NODE_IP)], cookie=0)
    datapath = Datapath([*fixed, *switch.flows.values()], list(switch.groups.values()))
    assert len(state.group_ids) == len(switch.groups)
    for svc in svcs:
        for port in svc["spec"]["ports"]:
            for address, number, external in frontends(svc, port):
                for source, src, reg0 in sources(svc, port, sls):
                    packet = {
                        "dl_type": 0x800,
                        "nw_proto": PROTO[port["protocol"]],
                        "nw_src": ip(src),
                        "nw_dst": ip(address),
                        L4_DST[port["protocol"]]: number,
                        "reg0": reg0,
                    }
                    want = expected(svc, port, sls, external=external, source=source, src=src)
                    assert datapath.run(packet) == want, (svc, port, address, source, src)
    # Traffic to no Service passes on untouched.
    assert datapath.run({"dl_type": 0x800, "nw_proto": 6, "nw_dst": ip("10.96.9.9"), "tcp_dst": 80}) == {
        Outcome("pass")
    }


@settings(max_examples=150, deadline=None)
@given(worlds(), worlds())
def test_datapath_does_what_kube_proxy_rules_say_after_any_change(first, second):
    state = ProxyState(NODE, lambda key: 0)
    switch = Switch()
    load(state, *first)
    switch.apply(state.changes())
    check(switch, state, *first)
    # Move to the second world: what it lacks is deleted, the rest set.
    names = {s["metadata"]["name"] for s in second[0]}
    slice_names = {s["metadata"]["name"] for s in second[1]}
    for svc in first[0]:
        if svc["metadata"]["name"] not in names:
            state.delete_service(f"ns/{svc['metadata']['name']}")
    for s in first[1]:
        if s["metadata"]["name"] not in slice_names:
            state.delete_slice(f"ns/{s['metadata']['name']}")
    load(state, *second)
    switch.apply(state.changes())
    check(switch, state, *second)
    # Nothing changed: nothing to send.
    assert not state.changes()


# -- examples -----------------------------------------------------------------------------------


def web(**spec) -> dict:
    return {
        "metadata": {"namespace": "ns", "name": "web"},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80}], **spec},
        "status": {},
    }


def web_slice(*addresses: str, name: str = "web-1", port: int = 8080) -> dict:
    return {
        "metadata": {"namespace": "ns", "name": name, "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "protocol": "TCP", "port": port}],
        "endpoints": [
            {"addresses": [a], "nodeName": "n1" if a.startswith("172.16.0.") else "n2"} for a in addresses
        ],
    }


def to_web(src: str = "172.16.0.9") -> dict:
    return {
        "dl_type": 0x800,
        "nw_proto": 6,
        "nw_src": ip(src),
        "nw_dst": ip("10.96.0.10"),
        "tcp_dst": 80,
        "reg0": 3,
    }


def datapath_of(switch: Switch) -> Datapath:
    fixed = fixed_flows(ipaddress.IPv4Address(GATEWAY_IP), [ipaddress.IPv4Address(NODE_IP)], cookie=0)
    return Datapath([*fixed, *switch.flows.values()], list(switch.groups.values()))


def test_session_affinity_keeps_a_client_on_its_endpoint_until_it_goes():
    state, switch = ProxyState(NODE, lambda key: 0), Switch()
    affinity = {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}
    load(state, [web(**affinity)], [web_slice("172.16.0.5", "172.16.1.5")])
    switch.apply(state.changes())
    datapath = datapath_of(switch)
    first = datapath.run(to_web())
    assert {o.ip for o in first} == {ip("172.16.0.5"), ip("172.16.1.5")}
    learned = datapath.learned
    assert len(learned) == 2 and all(f.table == 33 for f in learned)
    assert any("hard_timeout=60" in str(f) for f in switch.flows.values())
    for flow in learned:  # whichever endpoint the group chose, the client stays there
        again = datapath_of(switch)
        again.tables.setdefault(33, []).append(flow)
        outcome = again.run(to_web())
        assert len(outcome) == 1 and next(iter(outcome)).ip == flow.actions[0].value
    # The endpoint the client had is gone: its learned flow leads to a fresh choice.
    stale = next(f for f in learned if f.actions[0].value == ip("172.16.1.5"))
    load(state, [], [web_slice("172.16.0.5")])
    switch.apply(state.changes())
    after = datapath_of(switch)
    after.tables.setdefault(33, []).append(stale)
    assert {o.ip for o in after.run(to_web())} == {ip("172.16.0.5")}


def test_no_endpoint_rejects_and_group_ids_are_reused():
    state, switch = ProxyState(NODE, lambda key: 0), Switch()
    load(state, [web()], [web_slice("172.16.0.5")])
    switch.apply(state.changes())
    assert datapath_of(switch).run(to_web()) == {Outcome("dnat", ip("172.16.0.5"), 8080, 0x10)}
    (group_id,) = switch.groups
    load(state, [], [web_slice()])  # every endpoint gone: reject at once, group released
    change = state.changes()
    switch.apply(change)
    assert change.remove_groups == [group_id] and not switch.groups
    assert datapath_of(switch).run(to_web()) == {Outcome("reject")}
    other = web()
    other["metadata"]["name"] = "api"
    other["spec"]["clusterIP"] = "10.96.0.11"
    api_slice = web_slice("172.16.1.8")
    api_slice["metadata"] = {
        "namespace": "ns",
        "name": "api-1",
        "labels": {"kubernetes.io/service-name": "api"},
    }
    load(state, [other], [api_slice])
    switch.apply(state.changes())
    assert list(switch.groups) == [group_id]


def test_one_endpoint_change_changes_one_bucket_group_and_its_dnat_flow():
    state, switch = ProxyState(NODE, lambda key: 0), Switch()
    load(state, [web()], [web_slice("172.16.0.5", "172.16.1.5")])
    switch.apply(state.changes())
    load(state, [], [web_slice("172.16.0.5", "172.16.1.5", "172.16.1.6")])
    change = state.changes()
    assert len(change.put_groups) == 1 and not change.remove_groups and not change.remove
    assert [f.table for f in change.put] == [35]
    assert "nat(dst=172.16.1.6:8080)" in str(change.put[0])


def test_a_named_target_port_resolved_differently_per_pod():
    state, switch = ProxyState(NODE, lambda key: 0), Switch()
    load(
        state, [web()], [web_slice("172.16.0.5", port=8080), web_slice("172.16.1.5", name="web-2", port=9090)]
    )
    switch.apply(state.changes())
    assert datapath_of(switch).run(to_web()) == {
        Outcome("dnat", ip("172.16.0.5"), 8080, 0x10),
        Outcome("dnat", ip("172.16.1.5"), 9090, 0x10),
    }


def test_two_services_claiming_one_address_keep_the_first():
    state, switch = ProxyState(NODE, lambda key: 0), Switch()
    clash = web()
    clash["metadata"]["name"] = "zzz"
    load(state, [web(), clash], [web_slice("172.16.0.5")])
    change = state.changes()
    switch.apply(change)
    assert change.conflicts and "ns/web" in change.conflicts[0]
    assert datapath_of(switch).run(to_web()) == {Outcome("dnat", ip("172.16.0.5"), 8080, 0x10)}
