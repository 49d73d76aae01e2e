"""Reading a configuration: YAML document, flag overrides and environment into a validated schema value.

Precedence for each key, highest first: a flag override, the file, the key's environment
variable (``env=`` in the schema), the schema default. The first bad value stops loading with a
``ConfigError`` naming the key, why it is wrong and where it came from.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pyantrea_config.errors import ConfigError
from pyantrea_config.kinds import describe
from pyantrea_config.schema import Section, Setting, entries, leaves

T = TypeVar("T")


def load_file(
    schema: type[T],
    path: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> T:
    """The configuration in the YAML file ``path``, with ``overrides`` (dotted key → flag text) on top."""
    try:
        text = path.read_text()
    except OSError as exc:
        reason = f"cannot read the configuration file: {exc.strerror}"
        raise ConfigError(None, reason, source=str(path)) from None
    return load_text(schema, text, source=str(path), overrides=overrides, environ=environ)


def load_text(
    schema: type[T],
    text: str,
    *,
    source: str = "<config>",
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> T:
    """The configuration in the YAML text ``text``; ``source`` names it in error messages."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(None, _yaml_problem(exc), source=source) from None
    return load_document(schema, document, source=source, overrides=overrides, environ=environ)


def load_document(
    schema: type[T],
    document: Any,
    *,
    source: str | None = None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> T:
    """The configuration in an already parsed YAML document (``None`` for an empty one)."""
    overrides = dict(overrides or {})
    known = leaves(schema)
    for key in overrides:
        if key not in known:
            raise ConfigError(key, _unknown(key, known), source=f"flag --{key}")
    return _build(
        schema,
        {} if document is None else document,
        prefix="",
        source=source,
        overrides=overrides,
        environ=os.environ if environ is None else environ,
    )


def _build(
    schema: type[T],
    document: Any,
    *,
    prefix: str,
    source: str | None,
    overrides: Mapping[str, str],
    environ: Mapping[str, str],
) -> T:
    if not isinstance(document, Mapping):
        where = prefix.rstrip(".") or None
        raise ConfigError(where, f"expected a mapping of keys, got {describe(document)}", source=source)
    known = {entry.key: entry for entry in entries(schema)}
    for key in document:
        if key not in known:
            raise ConfigError(f"{prefix}{key}", _unknown(str(key), known), source=source)
    values: dict[str, Any] = {}
    for entry in known.values():
        path = prefix + entry.key
        if isinstance(entry, Section):
            nested = document.get(entry.key)
            values[entry.attr] = _build(
                entry.schema,
                {} if nested is None else nested,
                prefix=f"{path}.",
                source=source,
                overrides=overrides,
                environ=environ,
            )
        elif path in overrides:
            values[entry.attr] = _parse(entry, path, overrides[path], text=True, source=f"flag --{path}")
        elif entry.key in document:
            values[entry.attr] = _parse(entry, path, document[entry.key], text=False, source=source)
        elif entry.env and environ.get(entry.env):
            where = f"environment variable {entry.env}"
            values[entry.attr] = _parse(entry, path, environ[entry.env], text=True, source=where)
        elif entry.required:
            raise ConfigError(path, _missing(entry, path), source=source)
    try:
        return schema(**values)
    except ConfigError as exc:
        located = exc.within(prefix.rstrip(".")) if prefix else exc
        raise (located.from_source(source) if source else located) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return f"not valid YAML: {exc}"


def _parse(entry: Setting, path: str, value: Any, *, text: bool, source: str | None) -> Any:
    try:
        return entry.parse_text(value) if text else entry.parse(value)
    except ValueError as exc:
        raise ConfigError(path, str(exc), source=source) from None


def _unknown(key: str, known: Mapping[str, object]) -> str:
    # Case-folded matching catches the usual slip in acronyms (defaultMtu for defaultMTU).
    folded = {name.lower(): name for name in known}
    close = difflib.get_close_matches(key.lower(), list(folded), n=1, cutoff=0.7)
    hint = f" (did you mean {folded[close[0]]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}"


def _missing(entry: Setting, path: str) -> str:
    ways = f"in the file, with --{path}"
    if entry.env:
        ways += f" or through the {entry.env} environment variable"
    return f"required: set it {ways}"
