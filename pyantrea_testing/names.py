"""Names unique to one test process, short enough for interfaces and network namespaces."""

from __future__ import annotations

import itertools
import os

_counter = itertools.count()


def unique_name(prefix: str) -> str:
    """A short name unique to this test process (interface and netns names must stay short)."""
    return f"{prefix}{os.getpid() % 100000}x{next(_counter)}"
