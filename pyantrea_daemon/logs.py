"""Structured logging for the programs: one JSON object per line on stderr.

Every line carries ``ts`` (UTC, RFC 3339 with milliseconds), ``level``, ``component`` (agent,
controller, ...), ``node`` when the program runs for one node, ``logger``, ``msg``, the
``task`` name when logged from an asyncio task, the ``extra={...}`` fields of the call, and
``exc`` with the traceback when there is one. JSON rather than logfmt because tracebacks and
nested values need no escaping rules of our own and every log pipeline parses it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import sys
from typing import Any, TextIO

LEVELS = ("debug", "info", "warning", "error")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object, adding the program's fixed fields."""

    def __init__(self, *, component: str, node: str | None = None) -> None:
        super().__init__()
        self._fixed = {"component": component} | ({"node": node} if node else {})

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry: dict[str, Any] = {
            "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            **self._fixed,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        task = _current_task_name()
        if task is not None:
            entry["task"] = task
        entry.update((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _current_task_name() -> str | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return None
    return None if task is None else task.get_name()


def add_logging_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--log-level`` to a program's parser."""
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="least severe level logged")


def setup_logging(
    *, component: str, node: str | None = None, level: str = "info", stream: TextIO | None = None
) -> None:
    """Send every log record of the process to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(component=component, node=node))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
