"""Structured logs: one JSON object per line with the program's fixed fields."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyantrea_daemon.logs import JsonFormatter, setup_logging


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(component="agent", node="node-1"))
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("installed %d flows", 12, extra={"table": "IngressRule"})
    (entry,) = lines(stream)
    assert entry.pop("ts").endswith("Z")
    assert entry == {
        "level": "info",
        "component": "agent",
        "node": "node-1",
        "logger": "test.logs",
        "msg": "installed 12 flows",
        "table": "IngressRule",
    }


def test_the_task_name_and_the_traceback_are_fields(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured

    async def fail() -> None:
        try:
            raise ValueError("bad CIDR")
        except ValueError:
            logger.exception("policy rejected")

    async def main() -> None:
        await asyncio.create_task(fail(), name="policy-worker")

    asyncio.run(main())
    (entry,) = lines(stream)
    assert entry["task"] == "policy-worker"
    assert entry["level"] == "error"
    assert entry["exc"].startswith("Traceback (most recent call last):")
    assert entry["exc"].endswith("ValueError: bad CIDR")


def test_values_json_cannot_encode_are_written_as_text(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("state saved", extra={"path": Path("/var/run/pyantrea/policies")})
    assert lines(stream)[0]["path"] == "/var/run/pyantrea/policies"


def test_setup_logging_sends_everything_as_json_at_the_chosen_level() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        setup_logging(component="controller", level="warning", stream=stream)
        logging.getLogger("anything").info("hidden")
        logging.getLogger("anything").warning("shown")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)
    (entry,) = lines(stream)
    assert (entry["component"], entry["msg"], "node" in entry) == ("controller", "shown", False)
