"""Where a pod goes: the lab scheduler's choice, as a pure function.

Only Ready, schedulable nodes are candidates. Pods of one Deployment spread first (fewest of its
pods on the node, as the default scheduler's topology spreading does), then all pods (fewest
pods on the node), then the node order (node1 before node2). So three pods of a Deployment on
three empty nodes land one on each, as the article's guestbook does.
"""

from __future__ import annotations

from collections.abc import Iterable

from lab.controllers.objects import NodeView, PodView, natural_key


class NoNodeAvailable(Exception):
    """No node can take the pod now (none is Ready and schedulable)."""


def choose_node(pod: PodView, nodes: Iterable[NodeView], placed: Iterable[PodView]) -> str:
    """The node for `pod`, given the pods already placed on nodes."""
    candidates = [node.name for node in nodes if node.ready and node.schedulable]
    if not candidates:
        raise NoNodeAvailable("no node is Ready and schedulable")
    total = dict.fromkeys(candidates, 0)
    siblings = dict.fromkeys(candidates, 0)
    for other in placed:
        if other.node_name in total:
            total[other.node_name] += 1
            if pod.owner_uid and other.owner_uid == pod.owner_uid:
                siblings[other.node_name] += 1
    return min(candidates, key=lambda name: (siblings[name], total[name], natural_key(name)))
