"""Tables 50, 60, 90, 100: the policy tables, passing everything until policies fill them.

Packets of established connections skip the rule tables at priority 210, so a policy change
never cuts a connection that was allowed (and replies are allowed). Traffic from the node's own
gateway address skips the ingress rules: kubelet probes must reach every pod. The tables'
NEXT misses let everything else through until the policy reconciler adds rules and defaults.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from agent.openflow.pipeline import (
    CONNTRACK_COMMIT,
    EGRESS_RULE,
    INGRESS_RULE,
    L2_FORWARDING_OUT,
    L3_FORWARDING,
    PRIORITY_HIGH,
)
from fastpath import Flow, Match
from fastpath import actions as A

_ESTABLISHED = Match(ip=True, ct_state="-new+est")


def established_bypass_flows(*, cookie: int) -> list[Flow]:
    return [
        Flow(EGRESS_RULE.id, PRIORITY_HIGH, _ESTABLISHED, [A.Resubmit(L3_FORWARDING.id)], cookie),
        Flow(INGRESS_RULE.id, PRIORITY_HIGH, _ESTABLISHED, [A.Resubmit(L2_FORWARDING_OUT.id)], cookie),
    ]


def gateway_ingress_bypass_flow(gateway_ip: IPv4Address, *, cookie: int) -> Flow:
    match = Match(ip=True, nw_src=str(gateway_ip))
    return Flow(INGRESS_RULE.id, PRIORITY_HIGH, match, [A.Resubmit(CONNTRACK_COMMIT.id)], cookie)
