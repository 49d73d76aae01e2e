"""The optional state file that lets the lab's objects survive a restart of the API server.

The file is one JSON document, `{"resourceVersion": N, "objects": [...]}`, written atomically
(temporary file, fsync, rename) from the objects' stored JSON, so saving never re-serializes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class SavedState:
    resource_version: int
    objects: list[dict[str, Any]]


def load_state(path: Path) -> SavedState | None:
    """The saved state, or None when the file does not exist yet."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(text)
        return SavedState(int(document["resourceVersion"]), list(document["objects"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"state file {path} is not a saved API server state: {exc}") from exc


def save_state(path: Path, resource_version: int, raw_objects: list[bytes]) -> None:
    """Replace the state file with these objects (each already JSON-encoded)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(b'{"resourceVersion":' + str(resource_version).encode() + b',"objects":[')
        file.write(b",".join(raw_objects))
        file.write(b"]}\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
