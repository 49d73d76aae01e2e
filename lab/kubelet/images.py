"""The lab kubelet's image map: which local program runs a container, since the lab has no
container runtime. Pure: reading the map, matching an image, rendering a command line.

The map is a YAML file (lab/images.yaml is the lab's; `pyantctl lab up --images FILE` adds a
user's, whose entries come first). Each entry names image repositories (fnmatch patterns; the tag
and digest are ignored) and the program's command line, a list whose items may hold:

    {args}          (an item of its own) the container's `args`, one item each
    {command}       (an item of its own) the container's `command`, one item each
    {port}          the container's first declared containerPort
    {env:NAME}      the value of the container's env variable NAME ("" when unset)
    {bin:NAME}      the path of a program the lab's setup built (`coredns`)
    {python}        the lab's Python interpreter
    {repo}          this repository (examples/guestbook/frontend is a program of it)
    {dir}           a writable directory of the container's own
    {pod} {namespace} {name}

Paths in `args` and `command` under a volumeMount's mountPath are translated to the kubelet's
copy of that volume (configMap volumes are projected into the pod's directory), so a manifest's
`-conf /etc/coredns/Corefile` finds the ConfigMap's Corefile. An entry with
`serviceAccountToken: true` gets the pod's ServiceAccount token, CA and namespace mounted at
/var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/_PORT set, so it takes
the in-cluster configuration. Every other image runs the lab's pod server (lab.podserver).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.kubelet.pods import ContainerView

DEFAULT_MAP = Path(__file__).parents[1] / "images.yaml"
_PLACEHOLDER = re.compile(r"\{([a-z]+)(?::([A-Za-z0-9_.-]+))?\}")
_SPLICED = {"{args}", "{command}"}
_NAMED = {"env", "bin"}
_PLAIN = {"port", "python", "repo", "dir", "pod", "namespace", "name"}
REPO = Path(__file__).parents[2]


class ImageMapError(ValueError):
    """The image map is not valid; the message names the file, the entry and what is wrong."""


@dataclass(frozen=True, slots=True)
class ImageProgram:
    images: tuple[str, ...]
    """fnmatch patterns of image repositories (`registry.k8s.io/coredns/coredns`, `*/redis`)."""
    command: tuple[str, ...]
    service_account_token: bool = False
    source: str = ""
    """Where the entry was read (file and index), for messages."""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a command line's placeholders stand for, for one pod."""

    pod: str
    """namespace/name"""
    directory: Path
    python: str
    programs: Callable[[str], str]
    """{bin:NAME} -> path; raises ImageMapError for an unknown or unbuilt program."""
    volumes: Mapping[str, Path]
    """volume name -> where the kubelet put its files"""


def repository(image: str) -> str:
    """`registry.k8s.io/coredns/coredns:v1.12.0@sha256:...` -> `registry.k8s.io/coredns/coredns`."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _check_command(command: Sequence[str], where: str) -> None:
    for item in command:
        for match in _PLACEHOLDER.finditer(item):
            word, argument = match.group(1), match.group(2)
            if match.group(0) in _SPLICED:
                if item != match.group(0):
                    raise ImageMapError(
                        f"{where}: {match.group(0)} must be an item of its own, not in {item!r}"
                    )
            elif (word in _NAMED and argument) or (word in _PLAIN and argument is None):
                continue
            else:
                raise ImageMapError(f"{where}: unknown placeholder {match.group(0)} in {item!r}")


def parse_map(text: str, source: str) -> list[ImageProgram]:
    """The entries of one map file; ImageMapError names what is wrong."""
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImageMapError(f"{source}: not YAML: {exc}") from exc
    entries = (document or {}).get("images") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ImageMapError(f"{source}: expected a mapping with a list `images`")
    programs = []
    for index, entry in enumerate(entries):
        where = f"{source}: images[{index}]"
        if not isinstance(entry, dict):
            raise ImageMapError(f"{where}: expected a mapping with `image` and `command`")
        unknown = set(entry) - {"image", "command", "serviceAccountToken"}
        if unknown:
            raise ImageMapError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        images = entry.get("image")
        images = [images] if isinstance(images, str) else images
        if not images or not all(isinstance(i, str) and i for i in images):
            raise ImageMapError(f"{where}: `image` must be a repository pattern or a list of them")
        command = entry.get("command")
        if not command or not isinstance(command, list) or not all(isinstance(c, str) for c in command):
            raise ImageMapError(f"{where}: `command` must be a non-empty list of strings")
        _check_command(command, where)
        token = entry.get("serviceAccountToken", False)
        if not isinstance(token, bool):
            raise ImageMapError(f"{where}: `serviceAccountToken` must be true or false")
        programs.append(ImageProgram(tuple(images), tuple(command), token, where))
    return programs


def load_maps(paths: Sequence[Path]) -> list[ImageProgram]:
    """The entries of every file, in order (the first match wins)."""
    programs: list[ImageProgram] = []
    for path in paths:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ImageMapError(f"cannot read the image map {path}: {exc.strerror or exc}") from exc
        programs += parse_map(text, str(path))
    return programs


def find(programs: Sequence[ImageProgram], image: str) -> ImageProgram | None:
    name = repository(image)
    return next((p for p in programs if any(fnmatch.fnmatchcase(name, pat) for pat in p.images)), None)


def _translate(item: str, container: ContainerView, volumes: Mapping[str, Path]) -> str:
    """`item` with a leading (or after `=`) mountPath replaced by the kubelet's copy of the volume."""
    for volume, mount_path in container.mounts:
        if volume not in volumes:
            continue
        mount = mount_path.rstrip("/")
        head, equals, tail = item.rpartition("=") if "=" in item else ("", "", item)
        if tail == mount or tail.startswith(mount + "/"):
            return f"{head}{equals}{volumes[volume]}{tail[len(mount) :]}"
    return item


def render(program: ImageProgram, container: ContainerView, context: RenderContext) -> list[str]:
    """The command line of `container` run by `program`."""
    env = dict(container.env)
    first_port = container.listens[0].split("/")[0] if container.listens else ""

    def value(match: re.Match[str]) -> str:
        word, argument = match.group(1), match.group(2) or ""
        if word == "env":
            return env.get(argument, "")
        if word == "bin":
            return context.programs(argument)
        if word == "port":
            if not first_port:
                raise ImageMapError(
                    f"{program.source}: {{port}} but container {container.name} declares none"
                )
            return first_port
        namespace, _, name = context.pod.partition("/")
        plain = {"python": context.python, "repo": str(REPO), "dir": str(context.directory),
                 "pod": context.pod, "namespace": namespace, "name": name}  # fmt: skip
        return plain[word]

    argv: list[str] = []
    for item in program.command:
        if item == "{args}":
            argv += [_translate(arg, container, context.volumes) for arg in container.args]
        elif item == "{command}":
            argv += [_translate(arg, container, context.volumes) for arg in container.command]
        else:
            argv.append(_PLACEHOLDER.sub(value, item))
    return argv
