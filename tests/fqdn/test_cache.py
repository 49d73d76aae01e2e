"""The name cache against an evaluation written from its contract: an address learned for a name
is kept until the latest of (answer time + TTL + grace) over the answers that gave it."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.fqdn.answers import Answer
from agent.fqdn.cache import NameCache
from agent.policy.addresses import address
from pyantrea_api.domainnames import matches

NAMES = ["web.x.svc.cluster.local", "db.x.svc.cluster.local", "www.example.com"]
PATTERNS = [
    ("*.svc.cluster.local",),
    ("web.x.svc.cluster.local",),
    ("*.example.com", "db.x.svc.cluster.local"),
]
ANSWER = st.builds(
    Answer,
    st.sampled_from(NAMES),
    st.integers(min_value=1, max_value=6).map(lambda i: IPv4Address(f"10.0.0.{i}")),
    st.integers(min_value=0, max_value=30),
)
STEP = st.tuples(st.integers(min_value=0, max_value=20), st.lists(ANSWER, max_size=4))


@given(st.lists(STEP, max_size=12), st.sampled_from([0.0, 5.0]))
def test_addresses_live_until_ttl_and_grace_after_their_last_answer(steps, grace):
    cache = NameCache(grace=grace)
    expiry: dict[tuple[str, IPv4Address], float] = {}
    now = 0.0
    for advance, batch in steps:
        now += advance
        lost = cache.expire(now)
        gone = {key for key, e in expiry.items() if e <= now}
        assert lost == {name for name, _ in gone}
        for key in gone:
            del expiry[key]
        gained = cache.learn(batch, now)
        assert gained == {a.name for a in batch if (a.name, a.ip) not in expiry}
        for a in batch:
            expiry[(a.name, a.ip)] = max(expiry.get((a.name, a.ip), 0.0), now + a.ttl + grace)
        for patterns in PATTERNS:
            assert cache.addresses(patterns) == {
                address(int(ip)) for (name, ip) in expiry if any(matches(p, name) for p in patterns)
            }
        assert cache.next_expiry() == min(expiry.values(), default=None)


def test_a_negative_grace_is_refused():
    with pytest.raises(ValueError, match="grace"):
        NameCache(grace=-1)
