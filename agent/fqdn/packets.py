"""The DNS messages an intercepted frame carries (pure).

A frame is Ethernet + IPv4 + UDP or TCP from port 53. A UDP datagram is one message; a TCP
segment holds messages each after a two-byte length (RFC 1035 4.2.2), and only the messages
wholly inside the segment are returned (an answer split over segments teaches nothing, and the
pod still gets it). Hand-written with `struct`: three fixed header layouts are all there is to it,
and dnspython parses the messages themselves.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ETH_HEADER = 14
ETH_TYPE_IP = 0x0800
TCP, UDP = 6, 17


@dataclass(frozen=True, slots=True)
class DnsSegment:
    """What an intercepted frame holds: its destination (the pod) and its DNS messages."""

    destination: int
    """IPv4 destination address, as an int."""
    messages: tuple[bytes, ...]


def dns_segment(frame: bytes) -> DnsSegment | None:
    """The DNS messages of `frame`, or None for a frame that is not IPv4 UDP/TCP or is a fragment."""
    if len(frame) < ETH_HEADER + 20 or struct.unpack_from("!H", frame, 12)[0] != ETH_TYPE_IP:
        return None
    ip = frame[ETH_HEADER:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    if ihl < 20 or total > len(ip) or struct.unpack_from("!H", ip, 6)[0] & 0x3FFF:
        return None  # a bad header, or a fragment (more fragments, or an offset)
    destination = int.from_bytes(ip[16:20], "big")
    payload = ip[ihl:total]
    if ip[9] == UDP:
        if len(payload) < 8:
            return None
        return DnsSegment(destination, (payload[8:],) if len(payload) > 8 else ())
    if ip[9] == TCP:
        if len(payload) < 20:
            return None
        offset = (payload[12] >> 4) * 4
        return DnsSegment(destination, tuple(_framed(payload[offset:])))
    return None


def _framed(stream: bytes) -> list[bytes]:
    messages = []
    at = 0
    while at + 2 <= len(stream):
        (length,) = struct.unpack_from("!H", stream, at)
        if at + 2 + length > len(stream):
            break
        messages.append(stream[at + 2 : at + 2 + length])
        at += 2 + length
    return messages
