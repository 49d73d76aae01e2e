"""A tiny program on the daemon runtime, run as a subprocess by test_runner.py.

It serves HTTP on an OS-chosen port, runs a heartbeat task (and, with ``--crash``, a task that
fails), and logs ``serving`` with the port once it is up.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.logs import add_logging_flags, setup_logging
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.runner import run
from pyantrea_daemon.tasks import Supervisor

log = logging.getLogger("sample")


async def heartbeat(beats: asyncio.Event) -> None:
    try:
        while True:
            beats.set()
            await asyncio.sleep(0.05)
    finally:
        log.info("heartbeat stopping")


async def crash(beats: asyncio.Event) -> None:
    await beats.wait()
    raise RuntimeError("simulated failure")


async def serve(*, fail: bool) -> None:
    readiness = Readiness(logger=log)
    beats = asyncio.Event()
    readiness.add_check("heartbeat", lambda: None if beats.is_set() else "no heartbeat yet")
    server = HttpServer(host="127.0.0.1", port=0, readiness=readiness, metrics=Metrics("sample"), logger=log)
    async with Supervisor(logger=log) as tasks, server:
        tasks.spawn(heartbeat(beats), name="heartbeat")
        await beats.wait()
        loop = type(asyncio.get_running_loop())
        log.info("serving", extra={"port": server.port, "loop": f"{loop.__module__}.{loop.__name__}"})
        if fail:
            tasks.spawn(crash(beats), name="crasher")
        await tasks.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="sample")
    add_logging_flags(parser)
    parser.add_argument("--crash", action="store_true")
    args = parser.parse_args()
    setup_logging(component="sample", node="node-1", level=args.log_level)
    sys.exit(run(serve(fail=args.crash), logger=log))


if __name__ == "__main__":
    main()
