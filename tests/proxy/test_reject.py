"""Answers to connection attempts on a Service without endpoints, checked field by field."""

from __future__ import annotations

import socket
import struct

from agent.proxy.reject import checksum, reject_reply

CLIENT_MAC = bytes.fromhex("0a0000000001")
GW_MAC = bytes.fromhex("aabbccddeeff")
CLIENT, VIP = socket.inet_aton("172.16.0.9"), socket.inet_aton("10.96.0.10")


def frame(proto: int, l4: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 7, 0x4000, 63, proto, 0, CLIENT, VIP)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return GW_MAC + CLIENT_MAC + b"\x08\x00" + ip + l4


def tcp(flags: int, seq: int = 1000, ack: int = 0, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIHHHH", 40000, 80, seq, ack, (5 << 12) | flags, 65535, 0, 0) + payload


def ip_of(reply: bytes) -> bytes:
    return reply[14:34]


def test_a_syn_gets_a_reset_from_the_service_address():
    reply = reject_reply(frame(6, tcp(0x02, seq=1000)))
    assert reply[:6] == CLIENT_MAC and reply[6:12] == GW_MAC
    ip = ip_of(reply)
    assert checksum(ip) == 0 and ip[9] == 6 and ip[12:16] == VIP and ip[16:20] == CLIENT
    segment = reply[34:]
    sport, dport, seq, ack, offset_flags = struct.unpack_from("!HHIIH", segment)
    assert (sport, dport, seq, ack, offset_flags & 0x3F) == (80, 40000, 0, 1001, 0x14)
    pseudo = VIP + CLIENT + struct.pack("!BBH", 0, 6, len(segment))
    assert checksum(pseudo + segment) == 0


def test_data_with_an_ack_gets_a_plain_reset_at_its_ack():
    reply = reject_reply(frame(6, tcp(0x18, seq=5, ack=777, payload=b"hello")))
    _, _, seq, ack, offset_flags = struct.unpack_from("!HHIIH", reply, 34)
    assert (seq, ack, offset_flags & 0x3F) == (777, 0, 0x04)


def test_udp_gets_port_unreachable_quoting_the_datagram():
    datagram = struct.pack("!HHHH", 5353, 53, 12, 0) + b"abcd"
    original = frame(17, datagram)
    reply = reject_reply(original)
    ip = ip_of(reply)
    assert checksum(ip) == 0 and ip[9] == 1 and ip[12:16] == VIP and ip[16:20] == CLIENT
    icmp = reply[34:]
    assert icmp[0:2] == b"\x03\x03" and checksum(icmp) == 0
    assert icmp[8:] == original[14 : 14 + 20 + 8]


def test_no_answer_to_resets_icmp_fragments_or_other_frames():
    assert reject_reply(frame(6, tcp(0x04))) is None
    assert reject_reply(frame(1, b"\x08\x00\x00\x00\x00\x00\x00\x00")) is None
    arp = GW_MAC + CLIENT_MAC + b"\x08\x06" + bytes(28)
    assert reject_reply(arp) is None
    fragment = bytearray(frame(17, bytes(12)))
    fragment[14 + 6 : 14 + 8] = b"\x20\x10"
    assert reject_reply(bytes(fragment)) is None
