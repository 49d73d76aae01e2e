"""Gratuitous ARP: announce that an address now lives at a MAC, so neighbours update their caches.

Sent from a packet socket opened by the calling thread, so in that thread's namespace (a pod's,
when run on the pod's `NetlinkThread`).
"""

from __future__ import annotations

import socket
import struct
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
