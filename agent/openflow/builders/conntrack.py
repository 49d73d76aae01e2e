"""Tables 30, 31 and 105: connection tracking, its state checks, and commits.

Every IP packet goes through conntrack in one zone (30). Invalid packets are dropped (31).
Connections started from the gateway (the host, or kube-proxy after DNAT) are committed with
ct_mark 0x20 (105); replies of such connections that a pod sends are re-addressed to gw0's MAC
(31), so they return through the host, which undoes its NAT, even when the peer is on this
node's subnet. Other new connections are committed without a mark.

Every commit also records in the connection's ct_label the rules that allowed it, the ingress
rule's conj_id (reg6) in bits 0..31 and the egress rule's (reg5) in bits 32..63 (0: no rule of
that direction was involved), so the metric tables can count its later packets, which skip the
rule tables, for those rules. Commits go on to ServiceSNAT (106), empty without AntreaProxy.
"""

from __future__ import annotations

from agent.openflow import registers as R
from agent.openflow.pipeline import (
    CONNTRACK,
    CONNTRACK_COMMIT,
    CONNTRACK_STATE,
    DNAT,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_NORMAL,
    SERVICE_SNAT,
)
from fastpath import Flow, Match
from fastpath import actions as A


def conntrack_flow(*, cookie: int) -> Flow:
    actions = [A.Ct(table=CONNTRACK_STATE.id, zone=R.CT_ZONE)]
    return Flow(CONNTRACK.id, PRIORITY_NORMAL, Match(ip=True), actions, cookie)


def invalid_drop_flow(*, cookie: int) -> Flow:
    return Flow(CONNTRACK_STATE.id, PRIORITY_LOW, Match(ip=True, ct_state="+inv+trk"), [], cookie)


def gateway_reply_flows(gateway_mac: str, *, cookie: int) -> list[Flow]:
    """ConntrackState: gateway-started connections pass; their replies go back to gw0's MAC, also
    those that came through the tunnel (REWRITE_MAC cleared: L3Forwarding must not hand them to a
    local pod directly, the host has to undo kube-proxy's DNAT first)."""
    from_gateway = Match(
        ip=True, ct_state="-new+trk", ct_mark=R.FROM_GATEWAY_CT_MARK, **R.reg_match(R.FROM_GATEWAY)
    )
    reply = Match(ip=True, ct_state="-new+trk", ct_mark=R.FROM_GATEWAY_CT_MARK)
    return [
        Flow(CONNTRACK_STATE.id, PRIORITY_HIGH, from_gateway, [A.Resubmit(DNAT.id)], cookie),
        Flow(CONNTRACK_STATE.id, PRIORITY_NORMAL, reply,
             [A.mod_dl_dst(gateway_mac), R.REWRITE_MAC.field.load(0), A.Resubmit(DNAT.id)], cookie),
    ]  # fmt: skip


def commit_flows(*, cookie: int) -> list[Flow]:
    """ConntrackCommit: new connections are committed with the ids of the rules that allowed
    them, and ct_mark 0x20 when from the gateway."""
    rules = [
        R.INGRESS_RULE_CT_LABEL.save(R.INGRESS_CONJ_ID),
        R.EGRESS_RULE_CT_LABEL.save(R.EGRESS_CONJ_ID),
    ]
    # Masked: a Service connection keeps the mark (0x10) its DNAT gave it.
    mark = A.SetField("ct_mark", R.FROM_GATEWAY_CT_MARK, R.FROM_GATEWAY_CT_MARK)
    from_gateway = Match(ip=True, ct_state="+new+trk", **R.reg_match(R.FROM_GATEWAY))
    return [
        Flow(CONNTRACK_COMMIT.id, PRIORITY_NORMAL, from_gateway,
             [A.Ct(commit=True, table=SERVICE_SNAT.id, zone=R.CT_ZONE, actions=[mark, *rules])], cookie),
        Flow(CONNTRACK_COMMIT.id, PRIORITY_LOW, Match(ip=True, ct_state="+new+trk"),
             [A.Ct(commit=True, table=SERVICE_SNAT.id, zone=R.CT_ZONE, actions=rules)], cookie),
    ]  # fmt: skip
