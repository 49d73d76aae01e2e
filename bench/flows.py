"""Flow sets shaped like the agent's policy flows, shared by the fastpath benchmarks.

`PeerRules` is rule data as the agent's rule cache holds it (each rule's peer addresses);
`peer_flows` turns it into flows along the agent's own path (`agent.policy.flowtable.PolicyFlows`:
the shared peer matches of the ingress rule table, built once per address, one flow per
address carrying its rules' conjunction() actions). `conjunction_flows` is the same set built
directly, for benchmarks that start from flows.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.openflow.builders.policy import CLAUSE_PEER, RULE_TABLE
from agent.openflow.cookies import Cookies
from agent.openflow.pipeline import PRIORITY_NORMAL
from agent.policy.addresses import PeerAddress, address
from agent.policy.flowtable import PolicyFlows, RuleSlot
from controlplane.compute.inputs import Direction
from fastpath import Flow, Match
from fastpath import actions as A

BASE_IP = 0x0A000000
ROUND = 1


@dataclass(frozen=True, slots=True)
class PeerRules:
    """Ingress rules by conj_id (from 1), each with its peer addresses."""

    peers: dict[int, list[PeerAddress]]


def peer_rules(n: int, *, rules: int = 1000) -> PeerRules:
    """n peer addresses (BASE_IP + i) spread over `rules` two-clause rules (i to rule i % rules + 1)."""
    peers: dict[int, list[PeerAddress]] = {rule: [] for rule in range(1, rules + 1)}
    for i in range(n):
        peers[i % rules + 1].append(address(BASE_IP + i))
    return PeerRules(peers)


def peer_flows(data: PeerRules) -> list[Flow]:
    """The peer clause flows of `data`, as the agent's reconciler makes them."""
    flows = PolicyFlows(Cookies(ROUND))
    peers = flows.peers_of(RuleSlot(Direction.IN, RULE_TABLE[Direction.IN], PRIORITY_NORMAL))
    for conj_id, addresses in data.peers.items():
        peers.add(addresses, A.Conjunction(conj_id, CLAUSE_PEER, 2))
    put: list[Flow] = []
    peers.flush(put, [])
    return put


def conjunction_flows(n: int, *, rules: int = 1000, cookie: int = 0x1000) -> list[Flow]:
    """n ingress peer flows (table 90, one source address each, a conjunction action per rule)."""
    conj = [A.Conjunction(r + 1, 1, 2) for r in range(rules)]
    return [Flow(90, 200, Match(ip=True, nw_src=BASE_IP + i), [conj[i % rules]], cookie) for i in range(n)]


def conjunction_flows_text(flows: list[Flow]) -> str:
    return "".join(f"{flow}\n" for flow in flows)
