"""ARP on a packet socket: gratuitous ARP, to announce that an address now lives at a MAC so
neighbours update their caches, and resolution, to learn the MAC of addresses on a link.

Sockets are opened by the calling thread, so in that thread's namespace (a pod's, when run on
the pod's `NetlinkThread`).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from ipaddress import IPv4Address

_ETH_P_ARP = 0x0806
_BROADCAST = b"\xff" * 6


def gratuitous_arp_frame(ip: IPv4Address, mac: str) -> bytes:
    """An Ethernet broadcast ARP request whose sender and target address are both `ip`."""
    sender = bytes.fromhex(mac.replace(":", ""))
    ethernet = _BROADCAST + sender + struct.pack("!H", _ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + sender + ip.packed + b"\x00" * 6 + ip.packed
    return ethernet + arp


def send_gratuitous_arp(ifname: str, ip: IPv4Address, mac: str) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ARP)) as sock:
        sock.bind((ifname, 0))
        sock.send(gratuitous_arp_frame(ip, mac))


def _arp_request_frame(sender_mac: bytes, sender_ip: IPv4Address, target_ip: IPv4Address) -> bytes:
    ethernet = _BROADCAST + sender_mac + struct.pack("!H", _ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + sender_mac + sender_ip.packed + b"\x00" * 6
    return ethernet + arp + target_ip.packed


def _arp_reply(frame: bytes) -> tuple[IPv4Address, str] | None:
    """(sender address, sender MAC) of an ARP reply frame; None for any other frame."""
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", _ETH_P_ARP):
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, 2):
        return None
    return IPv4Address(frame[28:32]), frame[22:28].hex(":")


def resolve(
    ifname: str, sender_ip: IPv4Address, targets: Iterable[IPv4Address], *, timeout: float, attempts: int = 3
) -> dict[IPv4Address, str]:
    """Ask who has each of `targets` on `ifname` (ARP requests from `sender_ip`) and return the
    MAC of every target that answered within `timeout` seconds; a request is sent again
    `attempts` times in all to the targets still silent. Blocks the calling thread, whose
    namespace is the one `ifname` is looked up in."""
    pending = set(targets)
    found: dict[IPv4Address, str] = {}
    if not pending:
        return found
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ARP)) as sock:
        sock.bind((ifname, _ETH_P_ARP))
        sender_mac: bytes = sock.getsockname()[4]
        for attempt in range(attempts):
            for target in sorted(pending):
                sock.send(_arp_request_frame(sender_mac, sender_ip, target))
            deadline = time.monotonic() + timeout * (attempt + 1) / attempts
            while pending and (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    frame = sock.recv(2048)
                except TimeoutError:
                    break
                reply = _arp_reply(frame)
                if reply is not None and reply[0] in pending:
                    pending.discard(reply[0])
                    found[reply[0]] = reply[1]
            if not pending:
                break
    return found
