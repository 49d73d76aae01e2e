"""What runs in a pod: for each of its containers, the program the image map names for the
container's image, with the pod's ConfigMap volumes and ServiceAccount token projected as a kubelet
does, or the lab's pod server answering on that container's ports.

ConfigMap volumes are written under the pod's directory (`volumes/<name>/<key>`); a token is
requested with the TokenRequest API bound to the pod (the node's identity may do that for pods
bound to it, as a kubelet does) and mounted, with the CA and the namespace, where the in-cluster
configuration looks for it.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from kubernetes.client import ApiException

from lab.identities import SERVICE_ACCOUNT_MOUNT, TOKEN_SECONDS, write_service_account_dir
from lab.kubelet.images import ImageMapError, ImageProgram, RenderContext, find, render
from lab.kubelet.pods import ContainerView, PodView
from lab.kubelet.server import Launch, pod_server_launch
from lab.kubernetes.binaries import BinariesMissing, built_program
from pyantrea_kube.resources import CONFIG_MAPS, SERVICE_ACCOUNTS
from pyantrea_kube.rest import RestClient


class ProgramFailure(Exception):
    """The pod's program cannot be prepared (a missing ConfigMap, a program not built, ...)."""


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """What a pod is told about the API server: its address and the cluster's CA."""

    host: str
    port: int
    ca_file: Path


class PodPrograms:
    def __init__(self, rest: RestClient, programs: list[ImageProgram], access: ClusterAccess) -> None:
        self._rest = rest
        self._programs = programs
        self._access = access

    def mapped(self, container: ContainerView) -> ImageProgram | None:
        return find(self._programs, container.image)

    async def launches(self, pod: PodView, directory: Path) -> dict[str, Launch]:
        """How to run each of the pod's containers, by container name. Volumes and the token are
        projected once for the pod, as a kubelet does, and shared by its containers."""
        mapped = {container.name: self.mapped(container) for container in pod.containers}
        volumes: dict[str, Path] = {}
        if any(mapped.values()):
            volumes = await asyncio.to_thread(self._project_config_maps, pod, directory / "volumes")
        account: Path | None = None
        if any(program and program.service_account_token for program in mapped.values()):
            account = await asyncio.to_thread(self._project_token, pod, directory / "serviceaccount")
        launches = {}
        for container in pod.containers:
            program = mapped[container.name]
            if program is None:
                launches[container.name] = pod_server_launch(pod.key, container.listens)
                continue
            workdir = directory / "work" / container.name
            workdir.mkdir(parents=True, exist_ok=True)
            context = RenderContext(pod=pod.key, directory=workdir, python=sys.executable,
                                    programs=_program_path, volumes=volumes)  # fmt: skip
            launches[container.name] = self._launch(program, container, context, account)
        return launches

    def _launch(
        self, program: ImageProgram, container: ContainerView, context: RenderContext, account: Path | None
    ) -> Launch:
        try:
            argv = render(program, container, context)
        except ImageMapError as exc:
            raise ProgramFailure(f"container {container.name}: {exc}") from exc
        env = dict(container.env)
        mounts: tuple[tuple[str, str], ...] = ()
        if program.service_account_token and account is not None:
            mounts = ((str(account), str(SERVICE_ACCOUNT_MOUNT)),)
            env |= {
                "KUBERNETES_SERVICE_HOST": self._access.host,
                "KUBERNETES_SERVICE_PORT": str(self._access.port),
            }
        tcp = tuple(int(listen.split("/")[0]) for listen in container.listens if listen.endswith("/TCP"))
        return Launch(argv=tuple(argv), env=tuple(sorted(env.items())), says_ready=False, tcp_ports=tcp,
                      mounts=mounts)  # fmt: skip

    def _project_config_maps(self, pod: PodView, root: Path) -> dict[str, Path]:
        volumes = {}
        for volume, name in pod.config_maps:
            try:
                config_map = self._rest.get(CONFIG_MAPS, pod.namespace, name)
            except ApiException as exc:
                raise ProgramFailure(
                    f"configMap {pod.namespace}/{name} of volume {volume}: {exc.reason}"
                ) from exc
            target = root / volume
            target.mkdir(parents=True, exist_ok=True)
            for key, value in (config_map.get("data") or {}).items():
                (target / key).write_text(value)
            volumes[volume] = target
        return volumes

    def _project_token(self, pod: PodView, directory: Path) -> Path:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": TOKEN_SECONDS,
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod.name, "uid": pod.uid},
            },
        }
        try:
            answer = self._rest.create_subresource(
                SERVICE_ACCOUNTS, pod.namespace, pod.service_account, "token", body
            )
        except ApiException as exc:
            raise ProgramFailure(
                f"no token for ServiceAccount {pod.namespace}/{pod.service_account}: "
                f"{exc.status} {exc.reason}"
            ) from exc
        return write_service_account_dir(
            directory, token=str(answer["status"]["token"]), ca=self._access.ca_file, namespace=pod.namespace
        )


def _program_path(name: str) -> str:
    try:
        return str(built_program(name))
    except BinariesMissing as exc:
        raise ImageMapError(str(exc)) from exc
