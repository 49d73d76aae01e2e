"""What the kubelet reads of a Pod: a frozen view, so updates it does not care about are ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ContainerView:
    name: str
    image: str
    listens: tuple[str, ...]
    """Declared ports as PORT/PROTOCOL, in declaration order."""


@dataclass(frozen=True, slots=True)
class PodView:
    namespace: str
    name: str
    uid: str
    host_network: bool
    containers: tuple[ContainerView, ...]
    deleting: bool = False
    """The API server marked it for deletion (deletionTimestamp): the kubelet stops it, then
    confirms the deletion."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def listens(self) -> tuple[str, ...]:
        """Every port the pod's server must serve (a port declared twice fails to bind, as it would)."""
        return tuple(listen for container in self.containers for listen in container.listens)


def trim_pod(obj: Mapping[str, Any]) -> PodView:
    metadata = obj["metadata"]
    spec = obj.get("spec") or {}
    containers = tuple(
        ContainerView(
            name=str(container.get("name", "")),
            image=str(container.get("image", "")),
            listens=tuple(
                f"{int(port['containerPort'])}/{port.get('protocol') or 'TCP'}"
                for port in container.get("ports") or ()
            ),
        )
        for container in spec.get("containers") or ()
    )
    return PodView(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        host_network=bool(spec.get("hostNetwork")),
        containers=containers,
        deleting=metadata.get("deletionTimestamp") is not None,
    )
