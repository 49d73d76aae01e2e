"""Domain names as ClusterNetworkPolicy's `domainNames` peers define them, and which names they match.

A pattern is an exact name (`kubernetes.io` matches only `kubernetes.io`) or a leading `*.`
followed by a name: the `*` stands for one or more whole labels, so `*.kubernetes.io` matches
`www.kubernetes.io` and `latest.blog.kubernetes.io` but not `kubernetes.io` itself. DNS names
compare without regard to case, and a final dot (the fully qualified form) changes nothing:
`normalize` gives the one form both sides keep (lower case, no final dot). The controller
normalizes the patterns it sends; the agent matches the names of the DNS answers it sees. Pure.
"""

from __future__ import annotations

import re

_LABEL = r"[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?"
PATTERN = re.compile(rf"^(\*\.)?({_LABEL}\.)+{_LABEL}\.?$")
"""The API's validation of a domain name (network-policy-api v0.3.0)."""
WILDCARD = "*."


class DomainNameError(ValueError):
    """A domain name pattern the API would not accept."""


def normalize(pattern: str) -> str:
    """The kept form of `pattern`: lower case, no final dot; raises `DomainNameError` when the
    API's validation rejects it."""
    if not PATTERN.match(pattern):
        raise DomainNameError(
            f"domain name {pattern!r} is not a name of two or more labels, optionally after a leading '*.'"
        )
    return pattern.lower().rstrip(".")


def normalize_name(name: str) -> str:
    """The form of a name from a DNS answer that patterns are matched against."""
    return name.lower().rstrip(".")


def matches(pattern: str, name: str) -> bool:
    """Whether normalized `pattern` matches normalized `name`."""
    if pattern.startswith(WILDCARD):
        suffix = pattern[1:]  # ".kubernetes.io": at least one whole label must come before it
        return len(name) > len(suffix) and name.endswith(suffix) and not name.startswith(".")
    return pattern == name
