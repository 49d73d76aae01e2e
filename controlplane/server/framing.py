"""Stream messages assembled from events serialized once.

A `WatchBatch` is `repeated Event events = 1`, so its wire form is the concatenation of one
field per event: the tag byte 0x0A, the event's length as a varint, the event's bytes. A
serialized event framed that way (a *chunk*) can be shared by every watcher that gets the
event, and a message is a join of chunks, which the server sends as bytes without re-encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from proto.controlplane.v1beta1 import controlplane_pb2 as pb

_EVENTS_FIELD_TAG = b"\x0a"  # field 1, wire type 2 (length-delimited)

MAX_MESSAGE_BYTES = 1 << 20
"""Chunks are joined into messages up to this size (a bigger single event goes alone)."""


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def chunk(event: pb.Event) -> bytes:
    """The event as one element of `WatchBatch.events`, ready to join with others."""
    data = event.SerializeToString()
    return _EVENTS_FIELD_TAG + _varint(len(data)) + data


def messages(chunks: Iterable[bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[bytes]:
    """Serialized `WatchBatch` messages holding the chunks in order, each up to `max_bytes`."""
    pending: list[bytes] = []
    size = 0
    for item in chunks:
        if pending and size + len(item) > max_bytes:
            yield b"".join(pending)
            pending, size = [], 0
        pending.append(item)
        size += len(item)
    if pending:
        yield b"".join(pending)
