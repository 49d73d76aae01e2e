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
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    """Variables with a literal `value` (the lab resolves no valueFrom)."""
    mounts: tuple[tuple[str, str], ...] = ()
    """(volume name, mountPath) of each volumeMount."""


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
    dns_policy: str = "ClusterFirst"
    service_account: str = "default"
    config_maps: tuple[tuple[str, str], ...] = ()
    """(volume name, ConfigMap name) of each configMap volume."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def listens(self) -> tuple[str, ...]:
        """Every port the pod's server must serve (a port declared twice fails to bind, as it would)."""
        return tuple(listen for container in self.containers for listen in container.listens)


def _container(container: Mapping[str, Any]) -> ContainerView:
    return ContainerView(
        name=str(container.get("name", "")),
        image=str(container.get("image", "")),
        listens=tuple(
            f"{int(port['containerPort'])}/{port.get('protocol') or 'TCP'}"
            for port in container.get("ports") or ()
        ),
        command=tuple(str(part) for part in container.get("command") or ()),
        args=tuple(str(part) for part in container.get("args") or ()),
        env=tuple(
            (str(var["name"]), str(var.get("value", "")))
            for var in container.get("env") or ()
            if "valueFrom" not in var
        ),
        mounts=tuple(
            (str(mount["name"]), str(mount["mountPath"])) for mount in container.get("volumeMounts") or ()
        ),
    )


def trim_pod(obj: Mapping[str, Any]) -> PodView:
    metadata = obj["metadata"]
    spec = obj.get("spec") or {}
    return PodView(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        host_network=bool(spec.get("hostNetwork")),
        containers=tuple(_container(container) for container in spec.get("containers") or ()),
        deleting=metadata.get("deletionTimestamp") is not None,
        dns_policy=str(spec.get("dnsPolicy") or "ClusterFirst"),
        service_account=str(spec.get("serviceAccountName") or "default"),
        config_maps=tuple(
            (str(volume["name"]), str(volume["configMap"]["name"]))
            for volume in spec.get("volumes") or ()
            if volume.get("configMap")
        ),
    )
