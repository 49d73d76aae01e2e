"""Turning off TX checksum offload on a pod's interface, for the userspace datapath.

A veth pair lets the pod's kernel leave TCP and UDP checksums to "the hardware"
(CHECKSUM_PARTIAL). The kernel datapath finishes them; ovs-vswitchd on the userspace datapath
reads packets through a packet socket and forwards them with the checksum still unfinished, so
the receiver drops every TCP segment (ping works, TCP does not). With TX checksum offload off
on the pod's end the pod's kernel writes complete checksums. This is `ethtool -K eth0 tx off`,
done with the ETHTOOL_STXCSUM ioctl from a thread inside the pod's network namespace.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
from pathlib import Path

from pyantrea_netlink.thread import NetlinkThread

_SIOCETHTOOL = 0x8946
_ETHTOOL_STXCSUM = 0x17


def disable_tx_checksum(ifname: str) -> None:
    """Turn off TX checksum offload of `ifname` in the calling thread's namespace."""
    value = ctypes.create_string_buffer(struct.pack("II", _ETHTOOL_STXCSUM, 0))
    request = struct.pack("16sP", ifname.encode(), ctypes.addressof(value))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request)
        except OSError as exc:
            raise OSError(exc.errno, f"turn off TX checksum offload of {ifname}: {exc.strerror}") from None


async def disable_tx_checksum_in(netns: Path, ifname: str) -> None:
    """`disable_tx_checksum(ifname)` inside the network namespace at `netns`."""
    thread = NetlinkThread(netns, name=f"offload {netns}")
    try:
        await thread.call(lambda _ipr: disable_tx_checksum(ifname))
    finally:
        thread.close()
