"""The interface store: the pods attached on this node, by container id.

It lives in memory and is rebuilt from OVSDB after a restart (`OvsPodDatapath.restore`): each
pod port's interface carries the pod in its external_ids (`agent.pods.portids.PodPortIds`).
"""

from __future__ import annotations

from agent.pods.api import PodInterface


class InterfaceStore:
    def __init__(self) -> None:
        self._by_container: dict[str, PodInterface] = {}

    def add(self, interface: PodInterface) -> None:
        self._by_container[interface.attachment.container_id] = interface

    def remove(self, container_id: str) -> PodInterface | None:
        return self._by_container.pop(container_id, None)

    def get(self, container_id: str) -> PodInterface | None:
        return self._by_container.get(container_id)

    def all(self) -> list[PodInterface]:
        """Every attached pod, sorted by namespace, name and container id."""
        return sorted(
            self._by_container.values(),
            key=lambda i: (i.attachment.pod_namespace, i.attachment.pod_name, i.attachment.container_id),
        )

    def __len__(self) -> int:
        return len(self._by_container)
