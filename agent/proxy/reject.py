"""The answer to a connection attempt on a Service without endpoints (pure).

ServiceLB sends such a packet to the controller; the agent answers at once, as kube-proxy's
REJECT does, instead of letting the client time out: a TCP segment gets a reset, anything else
an ICMP port unreachable carrying the start of the packet. The answer comes from the Service
address the client used and goes back out of the port the packet came in on.

Hand-written with `struct` (no packet library): two fixed IPv4 layouts and their checksums.
"""

from __future__ import annotations

import struct

ETH_HEADER = 14
ETH_TYPE_IP = 0x0800
TCP, UDP = 6, 17
ICMP_UNREACHABLE, PORT_UNREACHABLE = 3, 3
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
TTL = 64


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip_header(src: bytes, dst: bytes, proto: int, payload_len: int) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000, TTL, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def reject_reply(frame: bytes) -> bytes | None:
    """The frame answering `frame` (Ethernet + IPv4), or None for what needs no answer (a TCP
    reset, an ICMP message, a fragment, anything not IPv4)."""
    if len(frame) < ETH_HEADER + 20 or struct.unpack_from("!H", frame, 12)[0] != ETH_TYPE_IP:
        return None
    dst_mac, src_mac = frame[0:6], frame[6:12]
    ip = frame[ETH_HEADER:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    frag = struct.unpack_from("!H", ip, 6)[0] & 0x1FFF
    proto = ip[9]
    src, dst = ip[12:16], ip[16:20]
    if ihl < 20 or len(ip) < ihl or frag or proto == 1:
        return None
    ethernet = src_mac + dst_mac + struct.pack("!H", ETH_TYPE_IP)
    if proto == TCP:
        tcp = ip[ihl:total]
        if len(tcp) < 20:
            return None
        sport, dport, seq, ack, offset_flags = struct.unpack_from("!HHIIH", tcp)
        flags = offset_flags & 0x3F
        if flags & TCP_RST:
            return None
        if flags & TCP_ACK:
            reply_seq, reply_ack, reply_flags = ack, 0, TCP_RST
        else:
            data_len = len(tcp) - (offset_flags >> 12) * 4
            advance = data_len + bool(flags & TCP_SYN) + bool(flags & TCP_FIN)
            reply_seq, reply_ack, reply_flags = 0, (seq + advance) & 0xFFFFFFFF, TCP_RST | TCP_ACK
        segment = struct.pack(
            "!HHIIHHHH", dport, sport, reply_seq, reply_ack, (5 << 12) | reply_flags, 0, 0, 0
        )
        pseudo = dst + src + struct.pack("!BBH", 0, TCP, len(segment))
        segment = segment[:16] + struct.pack("!H", checksum(pseudo + segment)) + segment[18:]
        return ethernet + _ip_header(dst, src, TCP, len(segment)) + segment
    quoted = ip[: ihl + 8]
    message = struct.pack("!BBHI", ICMP_UNREACHABLE, PORT_UNREACHABLE, 0, 0) + quoted
    message = message[:2] + struct.pack("!H", checksum(message)) + message[4:]
    return ethernet + _ip_header(dst, src, 1, len(message)) + message
