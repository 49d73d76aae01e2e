"""What a DNS response says: the IPv4 addresses of each name, and for how long (pure).

dnspython parses the message. Every name of a CNAME chain that ends in A records is given those
addresses: a pod that asked for `www.example.com`, an alias of `cdn.example.net`, reaches the
addresses of both names, and a rule naming either allows them. A record's lifetime is the least
TTL along its chain. Only successful responses count; a query, an error or a message dnspython
cannot parse gives nothing. IPv6 (AAAA) answers are left out: the datapath is IPv4 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from pyantrea_api.domainnames import normalize_name


@dataclass(frozen=True, slots=True, order=True)
class Answer:
    """`name` has IPv4 address `ip` for `ttl` seconds."""

    name: str
    ip: IPv4Address
    ttl: int


def answers(wire: bytes) -> list[Answer]:
    """The addresses the DNS response `wire` gives, per name (empty for anything else)."""
    try:
        message = dns.message.from_wire(wire, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError):
        return []
    if not message.flags & dns.flags.QR or message.rcode() != dns.rcode.NOERROR:
        return []
    aliases: dict[str, tuple[str, int]] = {}
    """alias -> (target, ttl)"""
    addresses: dict[str, list[tuple[IPv4Address, int]]] = {}
    for rrset in message.answer:
        owner = normalize_name(rrset.name.to_text())
        if rrset.rdtype == dns.rdatatype.CNAME:
            for rdata in rrset:
                aliases[owner] = (normalize_name(rdata.target.to_text()), rrset.ttl)
        elif rrset.rdtype == dns.rdatatype.A:
            for rdata in rrset:
                addresses.setdefault(owner, []).append((IPv4Address(rdata.address), rrset.ttl))
    found: set[Answer] = set()
    for owner, records in addresses.items():
        found.update(Answer(owner, ip, ttl) for ip, ttl in records)
    for alias in aliases:
        name, ttl, seen = alias, None, {alias}
        while name in aliases:
            name, link_ttl = aliases[name]
            ttl = link_ttl if ttl is None else min(ttl, link_ttl)
            if name in seen:  # a loop names no address
                break
            seen.add(name)
        for ip, record_ttl in addresses.get(name, ()):
            found.add(Answer(alias, ip, record_ttl if ttl is None else min(ttl, record_ttl)))
    return sorted(found)
