"""Table 0, Classifier: mark where a packet came from, send it on.

Tunnel traffic has passed the peer's spoof guard already and goes straight to Conntrack, marked
for MAC rewriting (it is addressed to the virtual MAC). Gateway and pod traffic go to SpoofGuard.
"""

from __future__ import annotations

from agent.openflow import registers as R
from agent.openflow.pipeline import CLASSIFIER, CONNTRACK, PRIORITY_LOW, PRIORITY_NORMAL, SPOOF_GUARD
from fastpath import Flow, Match
from fastpath import actions as A


def tunnel_classifier_flow(tunnel_port: int, *, cookie: int) -> Flow:
    actions = [R.FROM_TUNNEL.load(), R.REWRITE_MAC.load(), A.Resubmit(CONNTRACK.id)]
    return Flow(CLASSIFIER.id, PRIORITY_NORMAL, Match(in_port=tunnel_port), actions, cookie)


def gateway_classifier_flow(gateway_port: int, *, cookie: int) -> Flow:
    actions = [R.FROM_GATEWAY.load(), A.Resubmit(SPOOF_GUARD.id)]
    return Flow(CLASSIFIER.id, PRIORITY_NORMAL, Match(in_port=gateway_port), actions, cookie)


def pod_classifier_flow(pod_port: int, *, cookie: int) -> Flow:
    actions = [R.FROM_POD.load(), A.Resubmit(SPOOF_GUARD.id)]
    return Flow(CLASSIFIER.id, PRIORITY_LOW, Match(in_port=pod_port), actions, cookie)
