"""Typed reads of decoded JSON that fail with a CNI error naming the field.

Both the network configuration and the results inside it (prevResult, an IPAM plugin's answer)
arrive as untrusted JSON; every read names the dotted path of a bad field and its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cni.errors import CniError, ErrorCode

T = TypeVar("T")


class Fields:
    """A JSON object at `path`; a wrong field raises `CniError(code, ...)`."""

    def __init__(self, obj: object, path: str, code: ErrorCode) -> None:
        if not isinstance(obj, dict):
            raise CniError(code, f"{path or 'the document'} must be a JSON object, not {_kind(obj)}")
        self.obj: dict[str, Any] = obj
        self.path = path
        self.code = code

    def where(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, reason: str) -> CniError:
        return CniError(self.code, f"{self.where(key)}: {reason}")

    def string(self, key: str, default: str = "") -> str:
        value = self.obj.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {_kind(value)}")
        return value

    def integer(self, key: str) -> int | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, not {_kind(value)}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        items = self.items(key)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise CniError(self.code, f"{self.where(key)}[{index}]: must be a string, not {_kind(item)}")
        return tuple(items)

    def items(self, key: str) -> list[Any]:
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, not {_kind(value)}")
        return value

    def objects(self, key: str) -> list[Fields]:
        path = self.where(key)
        return [Fields(item, f"{path}[{index}]", self.code) for index, item in enumerate(self.items(key))]

    def object(self, key: str) -> Fields | None:
        value = self.obj.get(key)
        return None if value is None else Fields(value, self.where(key), self.code)

    def parsed(self, key: str, parse: Callable[[str], T], what: str) -> T | None:
        """The string at `key` turned into a value by `parse` (which raises ValueError)."""
        text = self.string(key)
        if not text:
            return None
        try:
            return parse(text)
        except ValueError:
            raise self.fail(key, f"{text!r} is not {what}") from None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
