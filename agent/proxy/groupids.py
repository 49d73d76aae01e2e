"""Group ids for Service ports: allocated on first use, released with the port, reused (pure).

Ids start at 1; a released id is handed out again before any new one, last released first (as
Antrea's allocator), so the group table stays dense however Services churn.
"""

from __future__ import annotations

MAX_GROUP_ID = 0xFFFFFF00


class GroupIdsExhausted(RuntimeError):
    """Every group id is in use."""


class GroupIds:
    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._free: list[int] = []
        self._next = 1

    def get(self, key: str) -> int:
        """The id of `key`, allocating one if it has none."""
        group_id = self._ids.get(key)
        if group_id is None:
            if self._free:
                group_id = self._free.pop()
            elif self._next <= MAX_GROUP_ID:
                group_id = self._next
                self._next += 1
            else:
                raise GroupIdsExhausted(f"no group id left for {key}")
            self._ids[key] = group_id
        return group_id

    def peek(self, key: str) -> int | None:
        return self._ids.get(key)

    def release(self, key: str) -> None:
        group_id = self._ids.pop(key, None)
        if group_id is not None:
            self._free.append(group_id)

    def __len__(self) -> int:
        return len(self._ids)

    def keys(self) -> list[str]:
        return sorted(self._ids)
