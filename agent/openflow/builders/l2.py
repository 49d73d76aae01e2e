"""Tables 80 and 110: the destination MAC picks the output port, then the packet leaves.

L2ForwardingCalc is a dmac table (a known MAC sets reg1 and OUTPUT_PORT_FOUND);
L2ForwardingOut outputs to reg1 when a port was found and drops otherwise.
"""

from __future__ import annotations

from agent.openflow import registers as R
from agent.openflow.pipeline import ADMIN_INGRESS_RULE, L2_FORWARDING_CALC, L2_FORWARDING_OUT, PRIORITY_NORMAL
from fastpath import Flow, Match
from fastpath import actions as A


def l2_forwarding_flow(mac: str, port: int, *, cookie: int) -> Flow:
    actions = [R.TARGET_OFPORT.load(port), R.OUTPUT_PORT_FOUND.load(), A.Resubmit(ADMIN_INGRESS_RULE.id)]
    return Flow(L2_FORWARDING_CALC.id, PRIORITY_NORMAL, Match(dl_dst=mac), actions, cookie)


def output_flow(*, cookie: int) -> Flow:
    match = Match(ip=True, **R.reg_match(R.OUTPUT_PORT_FOUND))
    return Flow(L2_FORWARDING_OUT.id, PRIORITY_NORMAL, match, [A.OutputReg(R.TARGET_OFPORT.reg)], cookie)
