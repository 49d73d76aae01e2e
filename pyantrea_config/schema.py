"""How a configuration file is declared: frozen dataclasses whose fields are settings and sections.

A schema is a ``@dataclass(frozen=True, slots=True, kw_only=True)`` whose every field is made
with ``setting()`` (one key) or ``section()`` (a nested mapping, itself a schema)::

    @dataclass(frozen=True, slots=True, kw_only=True)
    class FlowExportConfig:
        enable: bool = setting("enable", False, doc="Export flow records from br-int.")
        sampling: int = setting("sampling", 400, doc="Sample one packet in N.", bounds=(1, 2**32 - 1))

The attribute's annotation gives the key's kind (``pyantrea_config.kinds``); ``X | None`` makes the key
optional (``null`` unsets it). A setting without a default is required; ``env=`` names an
environment variable that supplies it when neither the file nor a flag does. Relations between
keys are checked in the schema's ``__post_init__``, which raises ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyantrea_config.kinds import Kind, kind_of

_METADATA_KEY = "pyantrea.config"


@dataclass(frozen=True, slots=True)
class _SettingInfo:
    key: str
    doc: str
    bounds: tuple[int, int] | None
    supported: tuple[enum.Enum, ...] | None
    env: str | None


@dataclass(frozen=True, slots=True)
class _SectionInfo:
    key: str
    doc: str


def setting(
    key: str,
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    bounds: tuple[int, int] | None = None,
    supported: tuple[enum.Enum, ...] | None = None,
    env: str | None = None,
) -> Any:
    """A field holding the config key ``key``.

    ``bounds`` is an inclusive integer range; ``supported`` lists the enum members this version
    implements when the enum names more (other members are refused as not supported yet).
    """
    info = _SettingInfo(key=key, doc=doc, bounds=bounds, supported=supported, env=env)
    return dataclasses.field(default=default, metadata={_METADATA_KEY: info})


def section(key: str, schema: Callable[[], Any], *, doc: str) -> Any:
    """A field holding the nested mapping ``key``, read with the schema ``schema``."""
    return dataclasses.field(default_factory=schema, metadata={_METADATA_KEY: _SectionInfo(key=key, doc=doc)})


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of a schema, resolved: what it is called, its kind, default and constraints."""

    attr: str
    key: str
    doc: str
    kind: Kind
    optional: bool
    default: Any
    bounds: tuple[int, int] | None
    supported: tuple[enum.Enum, ...] | None
    env: str | None

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    def parse(self, value: Any) -> Any:
        """A YAML value checked and converted; raises ``ValueError`` with the reason."""
        if value is None and self.optional:
            return None
        return self._check(self.kind.parse(value))

    def parse_text(self, text: str) -> Any:
        """Flag or environment text checked and converted; empty text unsets an optional key."""
        if not text and self.optional:
            return None
        return self._check(self.kind.from_text(text))

    def to_plain(self, value: Any) -> Any:
        """A typed value as YAML writes it."""
        return None if value is None else self.kind.to_plain(value)

    def _check(self, value: Any) -> Any:
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            raise ValueError(f"{value} is out of range ({self.bounds[0]}..{self.bounds[1]})")
        if self.supported is not None and value not in self.supported:
            names = ", ".join(str(member) for member in self.supported)
            raise ValueError(f"{str(value)!r} is not supported yet (supported: {names})")
        return value


@dataclass(frozen=True, slots=True)
class Section:
    """One nested mapping of a schema and the schema that reads it."""

    attr: str
    key: str
    doc: str
    schema: type


Entry = Setting | Section


@functools.cache
def entries(schema: type) -> tuple[Entry, ...]:
    """The keys of a schema in declaration order."""
    hints = typing.get_type_hints(schema)
    result: list[Entry] = []
    for field in dataclasses.fields(schema):
        info = field.metadata.get(_METADATA_KEY)
        if isinstance(info, _SectionInfo):
            result.append(Section(attr=field.name, key=info.key, doc=info.doc, schema=hints[field.name]))
        elif isinstance(info, _SettingInfo):
            annotation, optional = _without_none(hints[field.name])
            result.append(
                Setting(
                    attr=field.name,
                    key=info.key,
                    doc=info.doc,
                    kind=kind_of(annotation),
                    optional=optional,
                    default=field.default,
                    bounds=info.bounds,
                    supported=info.supported,
                    env=info.env,
                )
            )
        else:
            raise TypeError(f"{schema.__name__}.{field.name} is neither a setting() nor a section()")
    return tuple(result)


def leaves(schema: type, prefix: str = "") -> dict[str, Setting]:
    """Every setting of a schema and its sections by dotted key (``flowExport.enable``)."""
    result: dict[str, Setting] = {}
    for entry in entries(schema):
        if isinstance(entry, Section):
            result.update(leaves(entry.schema, f"{prefix}{entry.key}."))
        else:
            result[prefix + entry.key] = entry
    return result


def _without_none(annotation: object) -> tuple[object, bool]:
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        args = typing.get_args(annotation)
        rest = frozenset(arg for arg in args if arg is not type(None))
        return rest, len(rest) < len(args)
    return annotation, False
