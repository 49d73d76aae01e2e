"""Service ClusterIP allocation from the service CIDR, as kube-apiserver does on Service create.

The first address after the network address is kept for the `kubernetes` Service, as upstream;
allocation walks the range from a cursor so freed addresses are reused only after a full lap.
"""

from __future__ import annotations

import ipaddress


class ClusterIPAllocator:
    """Hands out and takes back ClusterIPs from one CIDR."""

    def __init__(self, cidr: str) -> None:
        self._network = ipaddress.ip_network(cidr)
        self._first = int(self._network.network_address) + 2
        self._last = int(self._network.broadcast_address) - 1
        self._cursor = self._first
        self._used: set[int] = set()

    @property
    def cidr(self) -> str:
        return str(self._network)

    def allocate(self) -> str:
        """A free address, now taken; raises RuntimeError when the range is full."""
        size = self._last - self._first + 1
        for _ in range(size):
            candidate = self._cursor
            self._cursor = self._first if candidate == self._last else candidate + 1
            if candidate not in self._used:
                self._used.add(candidate)
                return str(ipaddress.ip_address(candidate))
        raise RuntimeError(f"no free ClusterIP left in {self._network}")

    def reserve(self, address: str) -> str | None:
        """Take `address`; returns why it cannot be taken, or None once it is."""
        try:
            value = ipaddress.ip_address(address)
        except ValueError:
            return "must be a valid IP address"
        if value not in self._network:
            return f"the provided IP ({address}) is not in the valid range ({self._network})"
        if int(value) in self._used:
            return "provided IP is already allocated"
        self._used.add(int(value))
        return None

    def release(self, address: str) -> None:
        try:
            self._used.discard(int(ipaddress.ip_address(address)))
        except ValueError:
            return
