"""Watch events and watchers: what one watch stream is sent, and how it is fed.

Each committed change is one `Change`; its wire form (one JSON line) is encoded once per event
type and shared by every watcher that receives it. A `Watcher` filters changes by namespace,
label and field selector the way the watch cache does: an object that stops matching is sent as
DELETED (its previous content, at the new resourceVersion) and one that starts matching as ADDED.
Watchers buffer encoded lines until their HTTP handler writes them; a watcher that falls more
than `max_pending` events behind is closed, and its client resumes from its last resourceVersion.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from lab.apiserver.resources import ResourceType
from lab.apiserver.selectors import FieldSelector, LabelSelector

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def dump(obj: Any) -> bytes:
    """The compact JSON encoding used for everything the server sends or stores."""
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored object version: `data` is never mutated once stored, `raw` is its JSON."""

    data: dict[str, Any]
    raw: bytes

    @classmethod
    def of(cls, data: dict[str, Any]) -> Stored:
        return cls(data, dump(data))


@dataclass(slots=True)
class Change:
    """One committed change; for DELETED, `new` is the last state stamped with the deletion's rv."""

    rv: int
    type: str
    old: Stored | None
    new: Stored
    _lines: dict[str, bytes] = field(default_factory=dict)

    def line(self, event_type: str) -> bytes:
        """The watch line for this change sent as `event_type` (which a selector may change)."""
        cached = self._lines.get(event_type)
        if cached is None:
            if event_type == DELETED and self.type == MODIFIED and self.old is not None:
                gone = dict(self.old.data)
                gone["metadata"] = {**self.old.data["metadata"], "resourceVersion": str(self.rv)}
                obj = dump(gone)
            else:
                obj = self.new.raw
            cached = self._lines[event_type] = event_line(event_type, obj)
        return cached


def event_line(event_type: str, raw_object: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + raw_object + b"}\n"


def bookmark_line(rtype: ResourceType, rv: int, *, initial_events_end: bool = False) -> bytes:
    metadata: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_events_end:
        metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
    event = {
        "type": "BOOKMARK",
        "object": {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata},
    }
    return dump(event) + b"\n"


def error_line(status: dict[str, Any]) -> bytes:
    return dump({"type": "ERROR", "object": status}) + b"\n"


class Watcher:
    """One open watch: its filter and the lines waiting to be written to its client."""

    def __init__(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        bookmarks: bool,
        max_pending: int,
    ) -> None:
        self.rtype = rtype
        self.bookmarks = bookmarks
        self._namespace = namespace
        self._labels = labels
        self._fields = fields
        self._filtered = namespace is not None or bool(labels.requirements) or bool(fields.requirements)
        self._max_pending = max_pending
        self._pending: list[bytes] = []
        self._wakeup = asyncio.Event()
        self.closed = False

    def matches(self, obj: dict[str, Any]) -> bool:
        metadata = obj["metadata"]
        if self._namespace is not None and metadata.get("namespace") != self._namespace:
            return False
        return self._labels.matches(metadata.get("labels") or {}) and self._fields.matches(obj)

    def offer(self, change: Change) -> None:
        """Queue `change` for this watcher if, and as what, its filter says."""
        if not self._filtered:
            self.push(change.line(change.type))
            return
        now = self.matches(change.new.data)
        if change.type != MODIFIED or change.old is None:
            if now:
                self.push(change.line(change.type))
            return
        before = self.matches(change.old.data)
        if before and now:
            self.push(change.line(MODIFIED))
        elif now:
            self.push(change.line(ADDED))
        elif before:
            self.push(change.line(DELETED))

    def push(self, line: bytes) -> None:
        if self.closed:
            return
        self._pending.append(line)
        if len(self._pending) > self._max_pending:
            self.close()
        self._wakeup.set()

    def close(self) -> None:
        """End the stream; lines not yet written are dropped (the client resumes by resourceVersion)."""
        self.closed = True
        self._pending.clear()
        self._wakeup.set()

    async def next_chunk(self) -> bytes | None:
        """Everything queued so far as one chunk, waiting if nothing is; None once closed."""
        while not self._pending and not self.closed:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.closed:
            return None
        chunk = b"".join(self._pending)
        self._pending.clear()
        return chunk
