"""Multi-document YAML manifests, read the way `kubectl apply -f` reads them, with line numbers.

Each document (or each item of a `kind: List`) becomes a `Manifest`: its kind, namespace
(`default` when a namespaced object names none), name, body, and the line it starts on, so
every error names the file and line: bad YAML, a document that is not an object, a missing or
unknown kind, a missing name.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.kinds import Kind, UnknownKind, by_manifest

DEFAULT_NAMESPACE = "default"


class ManifestError(ValueError):
    """A manifest file that cannot be applied; the message starts with `file:line:`."""


@dataclass(frozen=True, slots=True)
class Manifest:
    kind: Kind
    namespace: str | None
    name: str
    body: dict[str, Any]
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def title(self) -> str:
        """kubectl's name for the object: `pod/web`, `deployment.apps/frontend`."""
        return f"{self.kind.qualified}/{self.name}"


def read_manifests(path: str) -> list[Manifest]:
    """The objects in the file at `path` (`-`: standard input), in file order."""
    source = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise ManifestError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    return parse_manifests(text, source)


def parse_manifests(text: str, source: str) -> list[Manifest]:
    loader = yaml.SafeLoader(text)
    manifests: list[Manifest] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            document = loader.construct_document(node)
            if document is None:
                continue
            line = node.start_mark.line + 1
            if isinstance(document, dict) and document.get("kind") == "List":
                items = _items_nodes(node)
                for item_node, item in zip(items, document.get("items") or [], strict=False):
                    manifests.append(_manifest(item, source, item_node.start_mark.line + 1))
            else:
                manifests.append(_manifest(document, source, line))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ManifestError(f"{where}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return manifests


def _items_nodes(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _manifest(document: Any, source: str, line: int) -> Manifest:
    where = f"{source}:{line}"
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: a manifest must be a YAML mapping, not {type(document).__name__}")
    api_version, kind_name = document.get("apiVersion"), document.get("kind")
    if not kind_name or not isinstance(kind_name, str):
        raise ManifestError(f"{where}: the object has no kind")
    if not api_version or not isinstance(api_version, str):
        raise ManifestError(f"{where}: the {kind_name} has no apiVersion")
    try:
        kind = by_manifest(api_version, kind_name)
    except UnknownKind as exc:
        raise ManifestError(f"{where}: {exc}") from exc
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise ManifestError(f"{where}: the {kind_name} has no metadata.name")
    namespace: str | None = None
    if kind.namespaced:
        namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
        if not isinstance(namespace, str):
            raise ManifestError(f"{where}: metadata.namespace must be a string")
        metadata["namespace"] = namespace
    else:
        metadata.pop("namespace", None)
    return Manifest(
        kind=kind, namespace=namespace, name=metadata["name"], body=document, source=source, line=line
    )
