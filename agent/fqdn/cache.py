"""The names this node's pods resolved, their addresses and when each address expires (pure).

An address learned for a name is kept until its TTL has passed plus a grace period
(`GRACE_SECONDS`, 60 s), counted from the last answer that gave it: a pod that resolves the name
again keeps it; a pod that resolved it once and keeps a connection open longer than TTL + grace
without resolving again loses it (Admin tier rules check established connections, so the
connection is then cut by what comes after the Accept). Cluster DNS names have a TTL of 5 s
(CoreDNS's default), so the grace is what lets a client that caches an answer a little longer
than its TTL still connect. Time is given by the caller (monotonic seconds), so nothing here
reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address

from agent.fqdn.answers import Answer
from agent.policy.addresses import PeerAddress, address
from pyantrea_api.domainnames import matches

GRACE_SECONDS = 60.0


class NameCache:
    """name -> {address: expiry}; `addresses(patterns)` is what the rule cache asks
    (`agent.policy.cache.DomainAddresses`)."""

    def __init__(self, *, grace: float = GRACE_SECONDS) -> None:
        if grace < 0:
            raise ValueError(f"grace must be at least 0 seconds, got {grace}")
        self._grace = grace
        self._names: dict[str, dict[IPv4Address, float]] = {}

    def learn(self, answers: Iterable[Answer], now: float) -> set[str]:
        """Take in `answers` seen at `now`; returns the names that gained an address."""
        gained: set[str] = set()
        for answer in answers:
            expiry = now + max(answer.ttl, 0) + self._grace
            known = self._names.setdefault(answer.name, {})
            old = known.get(answer.ip)
            if old is None:
                gained.add(answer.name)
                known[answer.ip] = expiry
            elif expiry > old:
                known[answer.ip] = expiry
        return gained

    def expire(self, now: float) -> set[str]:
        """Forget the addresses whose time has come; returns the names that lost one."""
        lost: set[str] = set()
        for name, known in list(self._names.items()):
            gone = [ip for ip, expiry in known.items() if expiry <= now]
            for ip in gone:
                del known[ip]
            if gone:
                lost.add(name)
            if not known:
                del self._names[name]
        return lost

    def next_expiry(self) -> float | None:
        """When `expire` has something to do next (None: nothing is known)."""
        return min((e for known in self._names.values() for e in known.values()), default=None)

    def addresses(self, patterns: Iterable[str]) -> set[PeerAddress]:
        """The /32 peer addresses of the names one of `patterns` matches."""
        patterns = tuple(patterns)
        found: set[PeerAddress] = set()
        for name, known in self._names.items():
            if any(matches(pattern, name) for pattern in patterns):
                found.update(address(int(ip)) for ip in known)
        return found

    def names(self) -> dict[str, dict[IPv4Address, float]]:
        """Every name with its addresses and their expiry (a copy)."""
        return {name: dict(known) for name, known in self._names.items()}
