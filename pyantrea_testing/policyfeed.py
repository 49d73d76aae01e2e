"""Feeding a rule cache as the controller client does: a snapshot, then events applied to the
agent's policy store, whose typed changes the cache gets."""

from __future__ import annotations

from collections.abc import Sequence

from agent.policy.store import PolicyListener, PolicySnapshot, PolicyStore, StateSource
from pyantrea_api.events import NodeEvent


class StoreFeed:
    """Hands `listener` (a `PolicyListener`) what the controller client would."""

    def __init__(self, listener: PolicyListener) -> None:
        self.listener = listener
        self.store = PolicyStore()

    def replace(self, snapshot: PolicySnapshot, source: StateSource = StateSource.CONTROLLER) -> None:
        """The whole state anew."""
        self.store = PolicyStore.of(snapshot)
        self.listener.on_replace(snapshot, source)

    def events(self, events: Sequence[NodeEvent]) -> None:
        """One stream message: each event applied to the store, the changes handed over."""
        self.listener.on_changes([self.store.apply(event) for event in events])
