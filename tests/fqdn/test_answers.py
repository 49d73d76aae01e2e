"""DNS responses, made by dnspython as a server would send them, read back into name, address and
TTL; and the frames an intercepted answer arrives in (UDP, TCP with length-prefixed messages)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import dns.message
import dns.rcode
import dns.rrset
from hypothesis import given
from hypothesis import strategies as st

from agent.fqdn.answers import Answer, answers
from agent.fqdn.packets import dns_segment

NAMES = st.sampled_from(["web.x.svc.cluster.local", "www.example.com", "cdn.example.net", "a.b.c.d"])
IPS = st.integers(min_value=1, max_value=2**32 - 2).map(IPv4Address)
TTLS = st.integers(min_value=0, max_value=86400)


def response(question: str, *rrsets: dns.rrset.RRset, rcode: int = dns.rcode.NOERROR) -> bytes:
    query = dns.message.make_query(question, "A")
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    reply.answer.extend(rrsets)
    return reply.to_wire()


def a_records(name: str, ttl: int, ips: list[IPv4Address]) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(name + ".", ttl, "IN", "A", [str(ip) for ip in ips])


@given(NAMES, TTLS, st.lists(IPS, min_size=1, max_size=5, unique=True))
def test_the_a_records_of_a_name(name, ttl, ips):
    wire = response(name, a_records(name, ttl, ips))
    assert answers(wire) == sorted(Answer(name, ip, ttl) for ip in ips)


@given(TTLS, TTLS, st.lists(IPS, min_size=1, max_size=3, unique=True))
def test_an_alias_gets_the_addresses_of_its_target_for_the_shorter_ttl(alias_ttl, ttl, ips):
    alias = dns.rrset.from_text("www.example.com.", alias_ttl, "IN", "CNAME", "cdn.example.net.")
    wire = response("www.example.com", alias, a_records("cdn.example.net", ttl, ips))
    assert answers(wire) == sorted(
        [Answer("cdn.example.net", ip, ttl) for ip in ips]
        + [Answer("www.example.com", ip, min(ttl, alias_ttl)) for ip in ips]
    )


def test_names_are_kept_in_lower_case_and_what_is_no_answer_gives_nothing():
    ip = IPv4Address("10.1.2.3")
    assert answers(response("WWW.Example.COM", a_records("WWW.Example.COM", 30, [ip]))) == [
        Answer("www.example.com", ip, 30)
    ]
    assert answers(response("www.example.com", rcode=dns.rcode.NXDOMAIN)) == []
    assert answers(dns.message.make_query("www.example.com", "A").to_wire()) == []  # a query
    assert answers(b"\x00\x01garbage") == []
    aaaa = dns.rrset.from_text("www.example.com.", 30, "IN", "AAAA", "2001:db8::1")
    assert answers(response("www.example.com", aaaa)) == []
    loop = dns.rrset.from_text("a.example.com.", 30, "IN", "CNAME", "a.example.com.")
    assert answers(response("a.example.com", loop)) == []


def frame(protocol: int, payload: bytes, *, dst: str = "172.16.1.5", flags_frag: int = 0x4000) -> bytes:
    if protocol == 17:
        l4 = struct.pack("!HHHH", 53, 40000, 8 + len(payload), 0) + payload
    else:
        l4 = struct.pack("!HHIIBBHHH", 53, 40000, 1, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, flags_frag, 64, protocol, 0,
        IPv4Address("10.96.0.10").packed, IPv4Address(dst).packed,
    )  # fmt: skip
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4 + b"\x00" * 4  # Ethernet padding


@given(st.binary(min_size=1, max_size=300))
def test_a_udp_answer_is_one_message(message):
    segment = dns_segment(frame(17, message))
    assert segment is not None
    assert segment.destination == int(IPv4Address("172.16.1.5")) and segment.messages == (message,)


@given(st.lists(st.binary(min_size=1, max_size=200), max_size=4), st.integers(min_value=0, max_value=50))
def test_a_tcp_segment_gives_its_whole_messages(messages, cut):
    stream = b"".join(struct.pack("!H", len(m)) + m for m in messages)
    partial = stream[: max(0, len(stream) - cut)]
    segment = dns_segment(frame(6, partial))
    whole, at = [], 0
    for m in messages:
        if at + 2 + len(m) > len(partial):
            break
        whole.append(m)
        at += 2 + len(m)
    assert segment is not None and segment.messages == tuple(whole)


def test_fragments_and_other_frames_are_not_read():
    assert dns_segment(frame(17, b"x", flags_frag=0x2000)) is None  # more fragments
    assert dns_segment(frame(1, b"x")) is None
    assert dns_segment(b"\x00" * 10) is None
