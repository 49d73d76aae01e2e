"""The controller's own computation feeding a node's policy store, without a server in between.

Kubernetes objects (their JSON form) go through the controller's parser, the incremental
`PolicyEngine` and the versioned `Store`; each store event is turned into what one node's
watcher would get (`for_node`), and applied to the agent's policy store as one batch, exactly
as a real `ControllerClient` applies them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.policy.store import PolicySnapshot, PolicyStore, StateSource
from controlplane.compute.engine import PolicyEngine
from controlplane.store.versioned import Store
from pyantrea_api.events import NodeEvent
from tests.controlplane.engine_feed import upsert


class NodeFeed:
    """Feeds the agent's `policies` store as the controller would feed node `node`."""

    def __init__(self, node: str, policies: PolicyStore) -> None:
        self.node = node
        self.policies = policies
        self.engine = PolicyEngine()
        self.store = Store()
        self.events: list[NodeEvent] = []

    def replace(self) -> None:
        """A new watch: the whole state for the node."""
        snapshot = self.store.snapshot(self.node)
        self.policies.replace(
            PolicySnapshot(
                {p.name: p for p in snapshot.policies},
                {g.name: g for g in snapshot.address_groups},
                {g.name: g for g in snapshot.applied_to_groups},
            ),
            StateSource.CONTROLLER,
        )

    def apply(self, *objects: dict[str, Any], deleted: Iterable[dict[str, Any]] = ()) -> list[NodeEvent]:
        """Create or update `objects`, delete `deleted`, sync, and hand the node's events over."""
        engine = self.engine
        for obj in objects:
            upsert(engine, obj)
        for obj in deleted:
            kind, meta = obj["kind"], obj["metadata"]
            if kind == "Namespace":
                engine.delete_namespace(meta["name"])
            elif kind == "Node":
                engine.delete_node(meta["name"])
            elif kind == "Pod":
                engine.delete_pod(meta["namespace"], meta["name"])
            elif kind == "ClusterNetworkPolicy":
                engine.delete_cluster_policy(meta["name"])
            else:
                engine.delete_policy(meta["namespace"], meta["name"])
        events = [e for e in (event.for_node(self.node) for event in self.store.apply(engine.sync())) if e]
        if events:
            self.policies.apply(events)
        self.events.extend(events)
        return events
