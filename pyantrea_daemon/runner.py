"""Running a program's async main on uvloop until it ends or SIGTERM/SIGINT asks it to stop.

A signal cancels the main task; main cleans up on the way out (its ``async with`` blocks stop
the supervisor's tasks and the HTTP server) and ``run`` returns 0. A main that raises, such as
``TaskFailed`` from ``Supervisor.wait()``, is logged and gives 1. A second signal while stopping
is only logged: a stuck shutdown ends with the SIGKILL that follows SIGTERM.

    def main() -> None:
        ...  # parse flags, load config, setup_logging
        sys.exit(run(agent_main(config), logger=log))
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any

import uvloop

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run(main: Coroutine[Any, Any, None], *, logger: logging.Logger) -> int:
    """Run ``main`` on a new uvloop event loop; return the process exit code."""
    return uvloop.run(_run_until_signal(main, logger))


async def _run_until_signal(main: Coroutine[Any, Any, None], logger: logging.Logger) -> int:
    loop = asyncio.get_running_loop()
    runner = asyncio.current_task()
    if runner is not None:
        runner.set_name("runner")
    task = asyncio.create_task(main, name="main")
    received: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        if received:
            logger.warning("received %s while stopping; still stopping", signum.name)
            return
        received.append(signum)
        logger.info("received %s, stopping", signum.name)
        task.cancel()

    for signum in _SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await task
    except asyncio.CancelledError:
        if not received:
            raise
        logger.info("stopped")
        return 0
    except Exception:
        logger.critical("stopped by an error", exc_info=True)
        return 1
    finally:
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
    logger.info("stopped: main returned")
    return 0
