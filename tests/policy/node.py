"""A node's policy side without Open vSwitch: the policy store fed by the controller's own
computation (`feed.NodeFeed`), the rule cache reading it, the reconciler, and the flows it has
asked for so far.

    node = PolicyNode("n1")
    node.apply(*objects)             # Kubernetes objects, as the API holds them
    node.attach("x", "a", ofport=3, ip="172.16.1.2")
    change = node.sync()             # the flow change of one batch
    node.lines()                     # every wanted flow as ovs-ofctl prints it, without cookies
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from agent.openflow.client import FlowKey
from agent.openflow.cookies import Cookies
from agent.policy.allocator import ConjIdAllocator
from agent.policy.cache import LocalPod, RuleCache
from agent.policy.flowtable import FlowChange
from agent.policy.reconciler import Reconciler
from agent.policy.store import PolicyStore
from fastpath import Flow
from tests.policy.feed import NodeFeed

COOKIES = Cookies(1)
_COOKIE = re.compile(r"^cookie=0x[0-9a-f]+, ")


def line(flow: Flow) -> str:
    """A flow as `ovs-ofctl dump-flows --no-stats` prints it, without its cookie."""
    return _COOKIE.sub("", str(flow))


def sort_lines(lines: list[str]) -> list[str]:
    """Table, then priority (highest first), then text: the order to read flows in."""

    def key(text: str) -> tuple[int, int, str]:
        table = int(re.search(r"table=(\d+)", text).group(1)) if "table=" in text else 0
        priority = int(re.search(r"priority=(\d+)", text).group(1))
        return (table, -priority, text)

    return sorted(lines, key=key)


class PolicyNode:
    def __init__(self, name: str = "n1", *, reuse_delay: float = 0.0) -> None:
        self.store = PolicyStore()
        self.cache = RuleCache(self.store)
        self.feed = NodeFeed(name, self.store)
        self.allocator = ConjIdAllocator(reuse_delay=reuse_delay)
        self.reconciler = Reconciler(self.cache, COOKIES, self.allocator)
        self.installed: dict[FlowKey, Flow] = {}

    def apply(self, *objects: dict[str, Any], deleted: tuple[dict[str, Any], ...] = ()) -> None:
        self.feed.apply(*objects, deleted=deleted)

    def attach(self, namespace: str, name: str, *, ofport: int, ip: str) -> None:
        pod = LocalPod(f"c-{namespace}-{name}", ofport, int(ipaddress.IPv4Address(ip)))
        self.cache.set_local_pod((namespace, name), pod)

    def detach(self, namespace: str, name: str) -> None:
        self.cache.remove_local_pod((namespace, name), f"c-{namespace}-{name}")

    def sync(self) -> FlowChange:
        change = self.reconciler.reconcile(self.cache.take_dirty())
        for key in change.remove:
            del self.installed[key]
        for flow in change.put:
            self.installed[flow.key] = flow
        return change

    def conj_ids(self, policy: str) -> list[int]:
        """The conjunction ids of the rules of the Kubernetes policy `namespace/name`."""
        namespace, name = policy.split("/")
        ids = []
        for internal in self.store.policies.values():
            if (internal.source_ref.namespace, internal.source_ref.name) == (namespace, name):
                for rule in self.store.policy_rules(internal.name):
                    realized = self.reconciler.realized(rule.id)
                    if realized is not None:
                        ids += [c.id for c in realized.conjunctions.values()]
        return sorted(ids)

    def lines(self) -> list[str]:
        return sort_lines([line(flow) for flow in self.installed.values()])
