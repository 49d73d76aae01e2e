"""Reading typed fields of the API's JSON documents, with errors that name the bad field.

Each contract reads with a `Fields` bound to its own error class (`TraceError`,
`ServicesError`), so its callers catch one error whatever field was wrong::

    read = Fields(TraceError)
    read.required(body, "packet.dstPort", int)          -> "packet.dstPort is required"
    read.optional(hop, "tunnelDestination", str, "hops[1]")

Hand-written rather than a validation library: the documents are few and small, and the
messages name the field the way the API's users spell it (`hops[1].service.endpoint`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any, TypeVar

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.StrEnum)


def join(path: str, key: str) -> str:
    """`path.key`, or `key` at the top."""
    return f"{path}.{key}" if path else key


class Fields:
    """Readers of JSON fields raising `error` with the field's path."""

    def __init__(self, error: type[ValueError]) -> None:
        self._error = error

    def required(self, body: Any, path: str, kind: type, prefix: str = "") -> Any:
        """The value at `path` (dotted) of `body`, of type `kind`; errors name `prefix.path`."""
        value: Any = body
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                raise self._error(f"{join(prefix, path)} is required")
            value = value[key]
        return self._typed(value, kind, join(prefix, path))

    def optional(self, body: Any, key: str, kind: type, path: str = "") -> Any:
        """`body[key]` of type `kind`, or None when absent or null."""
        if not isinstance(body, dict):
            raise self._error(f"{path or 'the body'} must be an object, got {body!r}")
        value = body.get(key)
        return None if value is None else self._typed(value, kind, join(path, key))

    def strings(self, body: Any, key: str, path: str = "") -> list[str]:
        values = self.required(body, key, list, path)
        if not all(isinstance(v, str) for v in values):
            raise self._error(f"{join(path, key)} must be a list of strings, got {values!r}")
        return values

    def items(self, body: Any, key: str, read: Callable[[Any, str], _T], path: str = "") -> tuple[_T, ...]:
        """The list `body[key]`, each item read by `read(item, its path)`."""
        where = join(path, key)
        return tuple(
            read(item, f"{where}[{index}]") for index, item in enumerate(self.required(body, key, list, path))
        )

    def choice(self, kind: type[_E], text: str, path: str) -> _E:
        try:
            return kind(text)
        except ValueError:
            raise self._error(f"{path} must be one of {', '.join(kind)}, got {text!r}") from None

    def address(self, body: Any, path: str, prefix: str = "") -> IPv4Address:
        text = self.required(body, path, str, prefix)
        try:
            return IPv4Address(text)
        except ValueError:
            raise self._error(f"{join(prefix, path)} must be an IPv4 address, got {text!r}") from None

    def _typed(self, value: Any, kind: type, path: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self._error(f"{path} must be a {kind.__name__}, got {value!r}")
        return value
