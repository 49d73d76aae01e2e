"""An AddressGroup as the policy store holds it: its members by pod, and how many of them hold
each peer address (so a patch tells which addresses it may have added or removed)."""

from __future__ import annotations

from collections.abc import Iterable

from agent.policy.addresses import HOST, PeerAddress
from pyantrea_api.objects import GroupMember, GroupPatch, PodKey


class AddressGroupIndex:
    """An AddressGroup's members, and how many of them hold each peer address."""

    __slots__ = ("addresses", "members")

    def __init__(self, members: Iterable[GroupMember]) -> None:
        self.members: dict[PodKey, GroupMember] = {}
        self.addresses: dict[PeerAddress, int] = {}
        by_key, addresses = self.members, self.addresses
        for member in members:  # the loop of a whole group's arrival, kept tight
            key = (member.namespace, member.name)
            old = by_key.get(key)
            if old is not None:
                self._forget(old)
            by_key[key] = member
            for ip in member.ips:
                if len(ip) == 4:
                    peer = (int.from_bytes(ip, "big") << 6) | HOST
                    addresses[peer] = addresses.get(peer, 0) + 1

    def patch(self, patch: GroupPatch) -> set[PeerAddress]:
        """Apply `patch` (removed, then added, by member identity); returns the addresses it may
        have changed."""
        changed: set[PeerAddress] = set()
        for member in patch.removed:
            old = self.members.pop(member.key, None)
            if old is not None:
                changed.update(self._forget(old))
        for member in patch.added:
            old = self.members.get(member.key)
            if old is not None:
                changed.update(self._forget(old))
            self.members[member.key] = member
            changed.update(self._count(member))
        return changed

    def _count(self, member: GroupMember) -> list[PeerAddress]:
        addresses = self.addresses
        held = []
        for ip in member.ips:
            if len(ip) == 4:
                peer = (int.from_bytes(ip, "big") << 6) | HOST
                addresses[peer] = addresses.get(peer, 0) + 1
                held.append(peer)
        return held

    def _forget(self, member: GroupMember) -> list[PeerAddress]:
        addresses = self.addresses
        held = []
        for ip in member.ips:
            if len(ip) == 4:
                peer = (int.from_bytes(ip, "big") << 6) | HOST
                left = addresses[peer] - 1
                if left:
                    addresses[peer] = left
                else:
                    del addresses[peer]
                held.append(peer)
        return held
