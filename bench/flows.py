"""Flow sets shaped like the agent's policy flows, shared by the fastpath benchmarks."""

from fastpath import Flow, Match
from fastpath import actions as A

BASE_IP = 0x0A000000


def conjunction_flows(n: int, *, rules: int = 1000, cookie: int = 0x1000) -> list[Flow]:
    """n ingress peer flows (table 90, one source address each, a conjunction action per rule)."""
    conj = [A.Conjunction(r + 1, 1, 2) for r in range(rules)]
    return [Flow(90, 200, Match(ip=True, nw_src=BASE_IP + i), [conj[i % rules]], cookie) for i in range(n)]


def conjunction_flows_text(flows: list[Flow]) -> str:
    return "".join(f"{flow}\n" for flow in flows)
