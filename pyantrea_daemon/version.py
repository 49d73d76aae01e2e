"""pyantrea's version, as installed: what programs report about themselves."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    """The installed distribution's version; `unknown` when pyantrea runs from sources not installed."""
    try:
        return metadata.version("pyantrea")
    except metadata.PackageNotFoundError:
        return "unknown"
