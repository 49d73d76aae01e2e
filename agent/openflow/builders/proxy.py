"""AntreaProxy: Services load-balanced in OVS (tables 30-35, 106 and 110 when the proxy is on).

A new connection to a Service address goes::

    30 Conntrack     ct(zone=65520,nat): established Service packets are (un)DNATed here;
                     replies to the gateway IP first pass ct(zone=65521,nat) (un-SNAT)
    31 ConntrackState  a packet of a connection already DNATed (ct_mark 0x10) skips the LB
                     tables, established or not (see `fixed_flows`)
    32 NodePortMark  dst is one of this node's NodePort addresses: reg4[19]
    33 SessionAffinity  learned flows: client IP -> the endpoint it had (reg3, reg4, reg7)
    34 ServiceLB     (address or NodePort, protocol, port) -> reg7=group, group:N
                     (no endpoint: to the controller, which answers a TCP reset or ICMP
                     port unreachable); with affinity, the bucket comes back here to learn
    group N          select bucket: reg3=endpoint IP, reg4[0..15]=port
    35 EndpointDNAT  ct(commit,nat(dst=IP:port),ct_mark|=0x10) and on to the first egress
                     policy table (45 AdminEgressRule), so policy sees the endpoint; a pod
                     reaching itself gets ct_mark 0x40 (hairpin),
                     external traffic from the gateway sent to another node ct_mark 0x80
    106 ServiceSNAT  hairpin and external-to-remote connections: ct(zone=65521,nat(src=gw IP))
    110 L2ForwardingOut  hairpin: out of the port the packet came in

Every function is pure: values in, flows or groups out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Address

from agent.openflow import registers as R
from agent.openflow.pipeline import (
    CONNTRACK,
    CONNTRACK_STATE,
    DNAT,
    ENDPOINT_DNAT,
    L2_FORWARDING_CALC,
    L2_FORWARDING_OUT,
    L3_FORWARDING,
    NODE_PORT_MARK,
    PIPELINE,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_NORMAL,
    SERVICE_LB,
    SERVICE_SNAT,
    SESSION_AFFINITY,
)
from fastpath import Bucket, Flow, Group, Match
from fastpath import actions as A
from fastpath.fields import IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP, TRANSPORT_PORTS

PROTOCOLS = {"TCP": IP_PROTO_TCP, "UDP": IP_PROTO_UDP, "SCTP": IP_PROTO_SCTP}
"""A Service port's protocol: its IP protocol number."""
_PROTO_MATCH = {name: name.lower() for name in PROTOCOLS}
_PORT_FIELDS = {name: TRANSPORT_PORTS[number] for name, number in PROTOCOLS.items()}
"""A protocol's (source, destination) port fields, as the flow model names them."""
PRIORITY_SERVICE_DNATED = 220
EGRESS_POLICY = PIPELINE.next(DNAT)
"""Where a DNATed Service packet goes on: the first egress policy table (every tier sees it)."""
PRIORITY_EXTERNAL_SNAT = 205
MAX_AFFINITY_TIMEOUT = 0xFFFF
"""learn's hard_timeout is 16 bits: longer ClientIP timeouts (Kubernetes allows 86400 s) are cut."""


@dataclass(frozen=True, slots=True)
class Backend:
    """An endpoint a group sends to: address, port, and whether it runs on this node."""

    ip: IPv4Address
    port: int
    local: bool


@dataclass(frozen=True, slots=True)
class Frontend:
    """One way into a Service port: a destination address (None: any NodePort address of the
    node, matched by reg4[19]), its port, and whether it is external (NodePort, LoadBalancer
    ingress IP, externalIP)."""

    ip: IPv4Address | None
    port: int
    external: bool


@dataclass(frozen=True, slots=True)
class Target:
    """Where a frontend sends: a group (None when it has no endpoint: reject)."""

    group_id: int | None


# -- shared actions ----------------------------------------------------------------------------------
# Actions are immutable, and at 10,000 Services x 10 endpoints the same few (a register mark, a
# port load, a resubmit, a ct_mark set) recur in 100,000 flows and buckets: built once and shared,
# they are not 100,000 objects of ~150 bytes each kept alive by the proxy's state.


@cache
def _mark(mark: R.RegMark) -> A.SetField:
    return mark.load()


@cache
def _set_ct_mark(mark: int) -> tuple[A.SetField]:
    return (A.SetField("ct_mark", mark, mark),)


@cache
def _endpoint_port(port: int) -> A.SetField:
    return R.ENDPOINT_PORT.load(port)


@cache
def _resubmit(table: int) -> A.Resubmit:
    return A.Resubmit(table)


# -- fixed flows ----------------------------------------------------------------------------------


def conntrack_nat_flow(*, cookie: int) -> Flow:
    """Table 30 with the proxy: the pod zone also (un)DNATs established Service connections."""
    actions = [A.Ct(table=CONNTRACK_STATE.id, zone=R.CT_ZONE, nat=True)]
    return Flow(CONNTRACK.id, PRIORITY_NORMAL, Match(ip=True), actions, cookie)


def fixed_flows(gateway_ip: IPv4Address, *, cookie: int, gateway_mac: str | None = None) -> list[Flow]:
    """The proxy's flows that do not depend on any Service (with the gateway's MAC: replies of
    SNATed external connections, back from another node, go out through the gateway).

    ConntrackState sends every packet of a connection EndpointDNAT committed (ct_mark 0x10) past
    the LB tables, not only the established ones. Before the first reply, conntrack reports a
    later datagram of a UDP connection as +new (the userspace datapath the second one, the
    kernel every one), though table 30's ct(nat) has already DNATed it to the chosen endpoint.
    Sent on to the LB tables, it matched no Service (its destination is the endpoint now) and
    got no REWRITE_MAC, so a packet for a local endpoint left through gw0 (still addressed to
    its MAC), came back from the host, and was committed a second time, un-NATed, with the same
    reply tuple; the endpoint's answers then matched that entry and went back with the
    endpoint's address instead of the Service's, which the client's socket drops. That lost
    both answers of a DNS lookup now and then (glibc sends A and AAAA back to back from one
    socket). Such a packet still goes through the policy tables and ConntrackCommit like any
    +new packet."""
    un_snat = Match(ip=True, ct_state="-trk", nw_dst=str(gateway_ip))
    dnated = Match(ip=True, ct_state="+trk", ct_mark=(R.SERVICE_CT_MARK, R.SERVICE_CT_MARK))
    stale_choice = Match(**R.reg_match(R.EP_SELECTED))
    snat = A.Nat("src", gateway_ip)
    hairpin = (R.HAIRPIN_CT_MARK, R.HAIRPIN_CT_MARK)
    external = (R.SNAT_CT_MARK, R.SNAT_CT_MARK)
    out = L2_FORWARDING_OUT.id
    flows = [
        # Replies to the gateway IP of SNATed connections: un-SNAT (zone 65521), then go round again.
        Flow(CONNTRACK.id, PRIORITY_HIGH, un_snat,
             [A.Ct(table=CONNTRACK.id, zone=R.SNAT_CT_ZONE, nat=True)], cookie),
        Flow(CONNTRACK_STATE.id, PRIORITY_SERVICE_DNATED, dnated,
             [R.REWRITE_MAC.load(), A.Resubmit(EGRESS_POLICY.id)], cookie),
        # An affinity entry whose endpoint is gone: choose again.
        Flow(ENDPOINT_DNAT.id, PRIORITY_LOW, stale_choice,
             [R.EP_TO_SELECT.load(), A.Resubmit(SERVICE_LB.id)], cookie),
        Flow(SERVICE_SNAT.id, PRIORITY_NORMAL, Match(ip=True, ct_state="+new+trk", ct_mark=hairpin),
             [A.Ct(commit=True, table=out, zone=R.SNAT_CT_ZONE, nat=snat,
                   actions=[A.SetField("ct_mark", *hairpin)])], cookie),
        Flow(SERVICE_SNAT.id, PRIORITY_NORMAL, Match(ip=True, ct_state="+new+trk", ct_mark=external),
             [A.Ct(commit=True, table=out, zone=R.SNAT_CT_ZONE, nat=snat)], cookie),
        Flow(SERVICE_SNAT.id, PRIORITY_NORMAL, Match(ip=True, ct_state="-new-rpl+trk", ct_mark=hairpin),
             [A.Ct(table=out, zone=R.SNAT_CT_ZONE, nat=True)], cookie),
        Flow(SERVICE_SNAT.id, PRIORITY_NORMAL, Match(ip=True, ct_state="-new-rpl+trk", ct_mark=external),
             [A.Ct(table=out, zone=R.SNAT_CT_ZONE, nat=True)], cookie),
        Flow(out, PRIORITY_HIGH, Match(ip=True, ct_mark=hairpin, **R.reg_match(R.OUTPUT_PORT_FOUND)),
             [A.Output("IN_PORT")], cookie),
    ]  # fmt: skip
    if gateway_mac is not None:
        back = Match(ip=True, ct_mark=external, **R.reg_match(R.REWRITE_MAC))
        to_gateway = [A.mod_dl_dst(gateway_mac), A.Resubmit(L2_FORWARDING_CALC.id)]
        flows.append(Flow(L3_FORWARDING.id, PRIORITY_LOW, back, to_gateway, cookie))
    return flows


def node_port_mark_flows(addresses: Sequence[IPv4Address], *, cookie: int) -> list[Flow]:
    """Table 32: packets to one of the node's NodePort addresses get reg4[19]."""
    then = [A.Resubmit(t) for t in NODE_PORT_MARK.then]
    return [
        Flow(
            NODE_PORT_MARK.id,
            PRIORITY_NORMAL,
            Match(ip=True, nw_dst=str(ip)),
            [R.NODE_PORT.load(), *then],
            cookie,
        )
        for ip in sorted(set(addresses))
    ]


# -- per Service port -------------------------------------------------------------------------------


def frontend_match(protocol: str, frontend: Frontend, *, from_pod: bool = False) -> Match:
    fields: dict[str, object] = {_PROTO_MATCH[protocol]: True, "tp_dst": frontend.port}
    marks = [R.EP_TO_SELECT]
    if frontend.ip is None:
        marks.append(R.NODE_PORT)
    else:
        fields["nw_dst"] = str(frontend.ip)
    if from_pod:
        marks.append(R.FROM_POD)
    fields.update(R.reg_match(*marks))
    return Match.from_fields(fields)


def service_lb_flow(
    protocol: str,
    frontend: Frontend,
    target: Target,
    *,
    affinity: bool,
    from_pod: bool = False,
    cookie: int,
) -> Flow:
    """Table 34: one way into a Service port, to its group (or rejected, with no endpoint)."""
    priority = PRIORITY_HIGH if from_pod else PRIORITY_NORMAL
    match = frontend_match(protocol, frontend, from_pod=from_pod)
    if target.group_id is None:
        return Flow(SERVICE_LB.id, priority, match, [A.Output("CONTROLLER")], cookie)
    actions = [_mark(R.REWRITE_MAC), R.SERVICE_GROUP.load(target.group_id)]
    if frontend.external:
        actions.append(_mark(R.EXTERNAL))
    actions += [_mark(R.EP_TO_LEARN if affinity else R.EP_SELECTED), A.Group(target.group_id)]
    return Flow(SERVICE_LB.id, priority, match, actions, cookie)


def learn_flow(protocol: str, group_id: int, timeout: int, *, cookie: int) -> Flow:
    """Table 34: a bucket of a group with ClientIP affinity comes back here to record the client's
    choice in SessionAffinity, for `timeout` seconds."""
    specs = [
        A.learn_match("dl_type", value=0x800),
        A.learn_match("nw_proto", value=PROTOCOLS[protocol]),
        A.learn_match(_PORT_FIELDS[protocol][1]),
        A.learn_match("nw_dst"),
        A.learn_match("nw_src"),
        A.learn_load(R.ENDPOINT_IP.reg),
        A.learn_load(R.ENDPOINT_PORT.reg, R.ENDPOINT_PORT.start, R.ENDPOINT_PORT.end),
        A.learn_load(R.SERVICE_GROUP.reg),
        A.learn_load(R.EXTERNAL.field.reg, R.EXTERNAL.field.start, R.EXTERNAL.field.end),
        A.learn_load(
            R.ENDPOINT_STATE.reg, R.ENDPOINT_STATE.start, R.ENDPOINT_STATE.end, value=R.EP_SELECTED.value
        ),
        A.learn_load(R.REWRITE_MAC.field.reg, R.REWRITE_MAC.field.start, R.REWRITE_MAC.field.end, value=1),
    ]
    learn = A.Learn(
        SESSION_AFFINITY.id,
        priority=PRIORITY_NORMAL,
        hard_timeout=min(timeout, MAX_AFFINITY_TIMEOUT),
        delete_learned=True,
        cookie=cookie,
        specs=specs,
    )
    match = Match.from_fields(
        {_PROTO_MATCH[protocol]: True, **R.reg_match(R.EP_TO_LEARN), R.SERVICE_GROUP.reg: group_id}
    )
    actions = [learn, R.EP_SELECTED.load(), A.Resubmit(ENDPOINT_DNAT.id)]
    return Flow(SERVICE_LB.id, PRIORITY_LOW, match, actions, cookie)


def endpoint_group(
    group_id: int, backends: Sequence[Backend], *, affinity: bool, protocol: str = "TCP"
) -> Group:
    """The select group of a Service port: one bucket per endpoint, equal weights.

    TCP groups use Open vSwitch's default selection (dp_hash, computed in the datapath); UDP and
    SCTP groups hash the addresses and ports in OpenFlow (selection_method=hash), because the
    userspace datapath gave every UDP flow of a client the same dp_hash (one endpoint only).
    Groups of Services with ClientIP affinity hash the client address only.
    """
    then = SERVICE_LB.id if affinity else ENDPOINT_DNAT.id
    buckets = [
        Bucket([R.ENDPOINT_IP.load(int(b.ip)), _endpoint_port(b.port), _resubmit(then)], weight=100)
        for b in backends
    ]
    if affinity:
        # A client's connections hash to one bucket, so they agree with the learned flow even
        # before Open vSwitch has revalidated the datapath flows that predate it.
        return Group(group_id, buckets, selection_method="hash", fields=("nw_src",))
    if protocol == "TCP":
        return Group(group_id, buckets)
    ports = _PORT_FIELDS[protocol]
    return Group(group_id, buckets, selection_method="hash", fields=("nw_src", "nw_dst", *ports))


def endpoint_dnat_flows(
    protocol: str, group_id: int, backend: Backend, *, snat_external: bool, cookie: int
) -> list[Flow]:
    """Table 35: the endpoint a bucket chose becomes the connection's destination (DNAT in the
    pod zone, committed with ct_mark 0x10), then on to the egress policy tables. A local
    endpoint reaching itself also gets the hairpin mark; with `snat_external`, external traffic
    from the gateway to an endpoint on another node gets the SNAT mark."""
    fields: dict[str, object] = {
        _PROTO_MATCH[protocol]: True,
        R.ENDPOINT_IP.reg: int(backend.ip),
        R.SERVICE_GROUP.reg: group_id,
    }
    reg4 = R.reg_match(R.EP_SELECTED, R.RegMark(R.ENDPOINT_PORT, backend.port))
    nat = A.Nat("dst", backend.ip, port_min=backend.port)

    def dnat(mark: int) -> A.Ct:
        return A.Ct(
            commit=True,
            table=EGRESS_POLICY.id,
            zone=R.CT_ZONE,
            nat=nat,
            actions=_set_ct_mark(mark),
        )

    flows = [
        Flow(
            ENDPOINT_DNAT.id,
            PRIORITY_NORMAL,
            Match.from_fields({**fields, **reg4}),
            [dnat(R.SERVICE_CT_MARK)],
            cookie,
        )
    ]
    if backend.local:
        hairpin = Match.from_fields({**fields, **reg4, "nw_src": str(backend.ip)})
        mark = R.SERVICE_CT_MARK | R.HAIRPIN_CT_MARK
        flows.append(Flow(ENDPOINT_DNAT.id, PRIORITY_HIGH, hairpin, [dnat(mark)], cookie))
    elif snat_external:
        external = R.reg_match(R.EP_SELECTED, R.RegMark(R.ENDPOINT_PORT, backend.port), R.EXTERNAL)
        match = Match.from_fields({**fields, **external, **R.reg_match(R.FROM_GATEWAY)})
        mark = R.SERVICE_CT_MARK | R.SNAT_CT_MARK
        flows.append(Flow(ENDPOINT_DNAT.id, PRIORITY_EXTERNAL_SNAT, match, [dnat(mark)], cookie))
    return flows
