"""Flow cookies: round (16 bits) | category (8) | reserved (8) | object id (32).

The round is the agent's restart count, kept in the bridge's external_ids `roundNum`: a
restarted agent installs every flow with the next round and, once it has converged, deletes the
flows of older rounds by cookie mask. The category says which part of the agent owns a flow
and the object id which object (a pod's ofport, a peer node's id), so `ovs-ofctl dump-flows
cookie=0x.../0x...` finds them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import IntEnum

ROUND_BITS = 16
ROUND_SHIFT = 48
CATEGORY_SHIFT = 40
ROUND_MASK = ((1 << ROUND_BITS) - 1) << ROUND_SHIFT
CATEGORY_MASK = 0xFF << CATEGORY_SHIFT
OBJECT_MASK = 0xFFFFFFFF
MAX_ROUND = (1 << ROUND_BITS) - 1


class Category(IntEnum):
    """Which part of the agent owns a flow (Antrea v0.3's categories, POLICY_RULE and
    POLICY_METRIC)."""

    DEFAULT = 0
    GATEWAY = 1
    NODE = 2
    POD = 3
    SERVICE = 4
    POLICY = 5
    POLICY_RULE = 6
    """A policy conjunction's action flow; object id = conj_id."""
    POLICY_METRIC = 7
    """A policy conjunction's metric flow, whose counters are its rule's; object id = conj_id."""


@dataclass(frozen=True, slots=True)
class Cookies:
    """The cookies of one agent run (one round)."""

    round: int

    def __post_init__(self) -> None:
        if not 0 <= self.round <= MAX_ROUND:
            raise ValueError(f"round {self.round} does not fit in {ROUND_BITS} bits")

    def __call__(self, category: Category, object_id: int = 0) -> int:
        if not 0 <= object_id <= OBJECT_MASK:
            raise ValueError(f"object id {object_id} does not fit in 32 bits")
        return (self.round << ROUND_SHIFT) | (int(category) << CATEGORY_SHIFT) | object_id


def category_filter(cookies: Cookies, category: Category) -> tuple[int, int]:
    """(cookie, mask) selecting the flows of `category` in this round, for dump-flows."""
    return cookies(category), ROUND_MASK | CATEGORY_MASK


def round_of(cookie: int) -> int:
    return (cookie & ROUND_MASK) >> ROUND_SHIFT


def category_of(cookie: int) -> Category:
    return Category((cookie & CATEGORY_MASK) >> CATEGORY_SHIFT)


def object_id_of(cookie: int) -> int:
    return cookie & OBJECT_MASK


def next_round(previous: int | None) -> int:
    """The round after `previous` (None: no agent ran before); wraps, skipping 0."""
    if previous is None:
        return 1
    return previous % MAX_ROUND + 1


def name_id(name: str) -> int:
    """A stable 32-bit object id for a named object (a Node)."""
    return zlib.crc32(name.encode())
