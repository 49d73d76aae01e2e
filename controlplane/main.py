"""`pyantrea-controller`: the controller program.

    pyantrea-controller --config /etc/pyantrea/pyantrea-controller.conf [--apiPort=10349] [--log-level debug]

It logs JSON lines on stderr, serves `/livez`, `/readyz` (ready once the informers have listed
and the first computation is published), `/metrics`, the JSON API (`controlplane.httpapi`) and
the dashboard (`controlplane.dashboard`, at `/dashboard/`) on `httpPort`, the gRPC controlplane
API on `apiPort`, and runs the `Controller` (controlplane.app) on uvloop until SIGTERM or a task
fails.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from controlplane import gcsettings
from controlplane.app import Controller
from controlplane.dashboard.routes import add_dashboard
from controlplane.httpapi import add_routes
from pyantrea_config.controller import ControllerConfig
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_daemon.logs import setup_logging
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.program import parse_command_line
from pyantrea_daemon.runner import run

log = logging.getLogger("controller")

DEFAULT_CONFIG = Path("/etc/pyantrea/pyantrea-controller.conf")


async def controller_main(config: ControllerConfig) -> None:
    readiness, metrics = Readiness(logger=log), Metrics("controller")
    server = HttpServer(
        host=str(config.api_bind_address),
        port=config.http_port,
        readiness=readiness,
        metrics=metrics if config.enable_prometheus_metrics else None,
        logger=log,
    )
    controller = Controller(config, metrics=metrics)
    controller.add_readiness_checks(readiness)
    add_dashboard(server, controller, add_routes(server, controller, readiness))
    async with server, controller:
        log.info("controller running", extra={"apiPort": controller.api_port, "httpPort": server.port})
        await controller.wait()


def main() -> None:
    config, args = parse_command_line("pyantrea-controller", __doc__, ControllerConfig, DEFAULT_CONFIG)
    setup_logging(component="controller", level=args.log_level)
    gcsettings.configure()
    sys.exit(run(controller_main(config), logger=log))


if __name__ == "__main__":
    main()
